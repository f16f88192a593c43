// Package i18n holds the message catalog of everything Custos shows or
// mails: to the public (data subjects, people signing up) and to staff in
// the admin pages. Every such string is a key in an English file with its
// translation in each other language's. A file is named LANG.json or
// AREA.LANG.json (ui.pl.json), so each part of the product keeps its own
// words; a key may be in one file per language only. Pages and mails look
// their words up with T.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Default is the language used when nothing better is known, and the one
// every key must exist in.
const Default = "en"

//go:embed messages/*.json
var files embed.FS

// catalog maps a language to its messages, by key.
var catalog = load()

func load() map[string]map[string]string {
	entries, err := files.ReadDir("messages")
	if err != nil {
		panic(err)
	}
	c := make(map[string]map[string]string, len(entries))
	for _, e := range entries {
		b, err := files.ReadFile("messages/" + e.Name())
		if err != nil {
			panic(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("i18n: %s: %v", e.Name(), err))
		}
		name := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		lang := name[strings.LastIndexByte(name, '.')+1:]
		if c[lang] == nil {
			c[lang] = make(map[string]string, len(m))
		}
		for k, v := range m {
			if _, dup := c[lang][k]; dup {
				panic(fmt.Sprintf("i18n: %s: key %q is in another %s file too", e.Name(), k, lang))
			}
			c[lang][k] = v
		}
	}
	return c
}

// Languages returns the languages of the catalog, sorted.
func Languages() []string {
	var ls []string
	for l := range catalog {
		ls = append(ls, l)
	}
	slices.Sort(ls)
	return ls
}

// Supported reports whether lang has a catalog.
func Supported(lang string) bool {
	_, ok := catalog[lang]
	return ok
}

// T returns the message key in lang, formatted with args as by
// fmt.Sprintf; a language without the key falls back to Default. A key
// missing from Default is a programming error, which the catalog test
// catches: it comes back as the key itself.
func T(lang, key string, args ...any) string {
	msg, ok := catalog[lang][key]
	if !ok {
		if msg, ok = catalog[Default][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Negotiate chooses the language of a page or mail: the first of prefer
// that the catalog has (such as a form's own language), else the best
// supported language of an Accept-Language header, else Default.
func Negotiate(acceptLanguage string, prefer ...string) string {
	for _, p := range prefer {
		if Supported(p) {
			return p
		}
	}
	best, bestQ := Default, 0.0
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if Supported(base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
