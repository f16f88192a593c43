package web

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/custos/custos/internal/custos"
)

// TestPagesOfferOnlyWhatTheRoleMay opens every page as every built-in role:
// a page the role may not open is refused, and a page it may open offers
// only forms and links to routes the role may use. That is the other half
// of every action working with the permission, which the browser tests
// show page by page.
func TestPagesOfferOnlyWhatTheRoleMay(t *testing.T) {
	e := newEnv(t)
	w := e.newWorkspace("a")
	mux := http.NewServeMux()
	perms := map[string]custos.Permission{}
	for _, rt := range e.srv.routes() {
		pattern := rt.method + " " + rt.pattern
		mux.Handle(pattern, http.NotFoundHandler())
		perms[pattern] = rt.permission
	}
	// permissionOf answers the permission of the route method path goes to.
	permissionOf := func(method, path string) (custos.Permission, bool) {
		_, pattern := mux.Handler(httptest.NewRequest(method, path, nil))
		p, ok := perms[pattern]
		return p, ok
	}
	may := func(role *custos.RoleDef, p custos.Permission) bool {
		a := custos.Actor{Kind: custos.ActorUser, Role: role.Name}
		return p == permPublic || p == permSignedIn || p != "" && a.Can(p)
	}
	placeholder := regexp.MustCompile(`\{\w+\}`)
	for _, role := range custos.BuiltinRoles() {
		t.Run(string(role.Name), func(t *testing.T) {
			session := e.staffSession(w, role.Name)
			for _, rt := range e.srv.routes() {
				if !isPage(rt) || rt.method != http.MethodGet {
					continue
				}
				path := fillPattern(t, rt.pattern, allOf(rt.pattern, w))
				res := e.do(request{method: "GET", path: path, token: session, header: map[string]string{"Accept": "text/html"}})
				if !may(role, rt.permission) {
					if res.status != http.StatusForbidden {
						t.Errorf("GET %s: %d, want 403", path, res.status)
					}
					continue
				}
				if res.status != http.StatusOK {
					t.Errorf("GET %s: %d, want 200", path, res.status)
					continue
				}
				doc, err := html.Parse(strings.NewReader(string(res.body)))
				must(t, err)
				for n := range doc.Descendants() {
					if n.Type != html.ElementNode {
						continue
					}
					method, target := "", ""
					switch {
					case n.Data == "form" && hasAttr(n, "data-api"):
						method, target = strings.ToUpper(attr(n, "data-method")), attr(n, "action")
						if method == "" {
							method = http.MethodPost
						}
					case n.Data == "form":
						method, target = strings.ToUpper(attr(n, "method")), attr(n, "action")
						if method == "" {
							method = http.MethodGet
						}
					case n.Data == "a":
						method, target = http.MethodGet, attr(n, "href")
					default:
						continue
					}
					if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
						continue // another site, or this page
					}
					target = placeholder.ReplaceAllString(target, "1")
					p, ok := permissionOf(method, strings.SplitN(target, "?", 2)[0])
					if !ok {
						t.Errorf("GET %s offers %s %s, which no route answers", path, method, target)
					} else if !may(role, p) {
						t.Errorf("GET %s offers %s %s, which needs %s", path, method, target, p)
					}
				}
			}
		})
	}
}

// attr answers the value of n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hasAttr tells whether n has the attribute key.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
