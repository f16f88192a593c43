package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/custos/custos/internal/importer"
)

// xss is the payload planted in every value a person, an import or an API
// client can set: markup that runs a script if a page ever lets it through
// unescaped. It opens a dialog and sets window.__xss, which the test
// watches for.
const xss = `"'><img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>`

// TestNoScriptRunsInAnyPage plants the payload through the API, a public
// sign-up form and an import, then opens every admin page of the route
// table and every page they link to, as an admin, and fails if any script
// but ours runs (a dialog, window.__xss, a refusal by the
// Content-Security-Policy) or a page fails. On the way it holds every page
// to the accessibility rules a crawl can check: every control labelled,
// one main heading, no id used twice, text contrast, and a visible focus
// for the keyboard on the first controls.
func TestNoScriptRunsInAnyPage(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	bg, err := importer.NewBackground(ctx, t.TempDir(), e.db, slog.New(slog.DiscardHandler))
	must(t, err)
	t.Cleanup(func() { cancel(); bg.Wait() })
	e.srv = newServer(e.db, nil, WithMailer(e.mail), WithBaseURL(testBaseURL), WithImporter(bg), WithSignupIPLimit(0, 0))
	w := e.newWorkspace("a")
	plantPayloads(t, e, w)
	bg.Flush()

	b := newBrowser(t, e)
	b.signIn(w)
	var queue []string
	for _, rt := range e.srv.routes() {
		if isPage(rt) && rt.method == http.MethodGet {
			queue = append(queue, fillPattern(t, rt.pattern, allOf(rt.pattern, w)))
		}
	}
	pages, shown := len(queue), 0
	seen := map[string]bool{}
	for len(queue) > 0 && len(seen) < 300 {
		path := queue[0]
		queue = queue[1:]
		if seen[path] {
			continue
		}
		seen[path] = true
		b.open(path)
		if ran := eval[bool](b, `window.__xss !== undefined`); ran {
			t.Errorf("%s: a planted script ran", path)
		}
		if eval[bool](b, `document.body.textContent.includes(`+strconv.Quote(xss)+`)`) {
			shown++
		}
		if msg := eval[string](b, `(document.querySelector("main .error") || {}).textContent || ""`); msg != "" {
			t.Errorf("%s: the page failed: %s", path, msg)
		}
		for _, problem := range eval[[]string](b, accessibilityProblems) {
			t.Errorf("%s: %s", path, problem)
		}
		// The keyboard reaches the first controls and shows where it is.
		for range 12 {
			b.run(chromedp.KeyEvent(kb.Tab))
			if got := eval[string](b, focusShown); got != "ok" && got != "" {
				t.Errorf("%s: the keyboard focus is not shown on %s", path, got)
				break
			}
		}
		for _, href := range eval[[]string](b, `Array.from(document.querySelectorAll("a[href]"), a => a.getAttribute("href"))`) {
			if next, ok := adminLink(href); ok && !seen[next] {
				queue = append(queue, next)
			}
		}
	}
	if len(seen) < pages {
		t.Errorf("%d pages opened, fewer than the %d page routes", len(seen), pages)
	}
	// The payload is there, shown as the text it is.
	if shown == 0 {
		t.Error("no page shows the planted values")
	}
	t.Logf("%d pages opened, %d show planted values", len(seen), shown)
}

// accessibilityProblems lists, in the page, the controls without a label
// (a <label for>, a wrapping label, aria-label or aria-labelledby), a main
// heading missing or repeated, and ids used twice.
const accessibilityProblems = `(() => {
	const out = [];
	for (const el of document.querySelectorAll("input, select, textarea")) {
		if (["hidden", "submit", "button", "reset"].includes(el.type)) continue;
		if ((el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) continue;
		out.push("a control without a label: " + el.outerHTML.slice(0, 120));
	}
	const h1 = document.querySelectorAll("h1").length;
	if (h1 !== 1) out.push(h1 + " main headings (h1), want 1");
	const seen = new Set();
	for (const el of document.querySelectorAll("[id]")) {
		if (seen.has(el.id)) out.push("the id " + el.id + " is used twice");
		seen.add(el.id);
	}
	// Text contrast (WCAG 2.1 AA, 1.4.3): 4.5:1, or 3:1 for large text,
	// against the nearest opaque background behind it.
	const rgba = (c) => (c.match(/[\d.]+/g) || [0, 0, 0, 0]).map(Number).concat([1]).slice(0, 4);
	const over = (f, b) => [0, 1, 2].map(i => f[i] * f[3] + b[i] * (1 - f[3])).concat([1]);
	const background = (el) => {
		const layers = [];
		for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
			const c = rgba(getComputedStyle(e).backgroundColor);
			if (c[3] > 0) layers.push(c);
			if (c[3] >= 1) break;
		}
		return layers.reduceRight((b, f) => over(f, b), [255, 255, 255, 1]);
	};
	const luminance = (c) => {
		const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const reported = new Set();
	for (const el of document.querySelectorAll("body *")) {
		if (![...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
		const st = getComputedStyle(el);
		if (st.visibility === "hidden" || st.display === "none" || !el.getClientRects().length) continue;
		const bg = background(el), fg = over(rgba(st.color), bg);
		const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
		const ratio = (hi + 0.05) / (lo + 0.05);
		const size = parseFloat(st.fontSize), bold = Number(st.fontWeight) >= 700;
		const want = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
		const key = el.tagName + "." + el.className + " " + st.color + " on " + bg.join(",");
		if (ratio < want && !reported.has(key)) {
			reported.add(key);
			out.push("contrast " + ratio.toFixed(2) + ":1 (want " + want + ":1) of " + el.tagName.toLowerCase() +
				(el.className ? "." + el.className : "") + " (" + st.color + " on rgb(" + bg.slice(0, 3).map(Math.round).join(", ") + "))");
		}
	}
	return out;
})()`

// focusShown tells whether the element that has the focus shows it: an
// outline or a shadow drawn around it (WCAG 2.4.7).
const focusShown = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body) return "";
	const st = getComputedStyle(el);
	const shown = (st.outlineStyle !== "none" && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== "none";
	return shown ? "ok" : el.outerHTML.slice(0, 120);
})()`

// adminLink returns the path of a link to another page of ours worth
// opening: not the API (downloads), not files, not another site.
func adminLink(href string) (string, bool) {
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	for _, skip := range []string{"/api/", "/assets/", "/t/"} {
		if strings.HasPrefix(u.Path, skip) {
			return "", false
		}
	}
	u.Fragment = ""
	return u.RequestURI(), true
}

// plantPayloads puts xss into every value of w's objects that the API, a
// public form or an import lets a caller set, and makes new objects
// carrying it.
func plantPayloads(t *testing.T, e *testEnv, w *workspace) {
	t.Helper()
	id := func(n int64) string { return fmt.Sprint(n) }
	contact := "/api/v1/contacts/" + id(w.contact)
	call := func(method, path string, body any, want int) {
		t.Helper()
		e.call(w.token, method, path, body, want, nil)
	}

	call("PATCH", "/api/v1/fields/"+w.field, map[string]any{"label": xss}, http.StatusOK)
	call("POST", "/api/v1/fields", map[string]any{"key": "xss_choice", "label": xss, "type": "choice",
		"classification": "personal", "choices": []string{xss, "plain"}}, http.StatusCreated)
	call("PATCH", contact, map[string]any{"fields": map[string]any{"first_name": xss, "last_name": xss, "company": xss,
		w.field: xss, "xss_choice": xss}}, http.StatusOK)
	call("POST", "/api/v1/contacts", map[string]any{"email": "planted@example.com", "fields": map[string]any{"first_name": xss, "company": xss},
		"source": map[string]any{"kind": "manual", "detail": xss}}, http.StatusCreated)

	call("PATCH", "/api/v1/purposes/"+id(w.purpose), map[string]any{"name": xss, "description": xss}, http.StatusOK)
	call("POST", "/api/v1/notices", map[string]any{"body": xss}, http.StatusCreated)
	call("PATCH", "/api/v1/lists/"+id(w.list), map[string]any{"name": xss}, http.StatusOK)
	call("PATCH", "/api/v1/list-groups/"+id(w.group), map[string]any{"name": xss}, http.StatusOK)
	call("PATCH", "/api/v1/processors/"+id(w.processor), map[string]any{"name": xss, "service": xss}, http.StatusOK)

	call("POST", contact+"/activities", map[string]any{"type": "note", "body": xss}, http.StatusCreated)
	call("POST", contact+"/activities", map[string]any{"type": "deal", "title": xss, "value": "10", "currency": "EUR", "stage": "won"}, http.StatusCreated)
	call("POST", contact+"/activities", map[string]any{"type": "task", "title": xss, "body": xss}, http.StatusCreated)
	body, ct := multipartBody(t, xss+".txt", []byte(xss))
	e.do(request{method: "POST", path: contact + "/attachments", token: w.token, body: body, contentType: ct})
	call("POST", contact+"/consents", map[string]any{"purpose_id": w.purpose, "action": "grant", "notice": xss,
		"user_agent": xss}, http.StatusCreated)

	var dsr struct{ ID int64 }
	e.call(w.token, "POST", "/api/v1/dsr-requests", map[string]any{"type": "erasure", "email": "planted@example.com"}, http.StatusCreated, &dsr)
	call("POST", "/api/v1/dsr-requests/"+id(dsr.ID)+"/notes", map[string]any{"text": xss}, http.StatusOK)

	call("PATCH", "/api/v1/forms/"+id(w.form), map[string]any{"name": xss, "information_clause": xss}, http.StatusOK)

	// A person signs up through the public form with the payload as name,
	// and confirms.
	e.postForm("/f/"+id(w.form), url.Values{"email": {"signup@example.com"}, "first_name": {xss},
		"purpose_" + id(w.purpose): {"on"}}, nil)
	for _, m := range e.queued(t) {
		if link := confirmRE.FindString(m.Message.Text); link != "" {
			e.do(request{method: "POST", path: link})
		}
	}

	// An import whose header, values and file name carry it.
	file := "email;first_name;" + strings.ReplaceAll(xss, ";", ",") + "\r\nimported@example.com;" + strings.ReplaceAll(xss, ";", ",") + ";x\r\nnot-an-address;x;x\r\n"
	body, ct = multipartBody(t, xss+".csv", []byte(file), "options",
		fmt.Sprintf(`{"purpose_id":%d,"legal_basis":"consent","notice":%q,"not_from_subject":true}`, w.purpose, xss))
	if res := e.do(request{method: "POST", path: "/api/v1/imports", token: w.token, body: body, contentType: ct}); res.status != http.StatusAccepted {
		t.Fatalf("import: %d %s", res.status, res.body)
	}

	// Restricted last: it stops further processing of the contact.
	call("POST", contact+"/restriction", map[string]any{"reason": xss}, http.StatusCreated)
}
