package custos

import (
	"strings"
	"testing"
	"time"
)

func TestActivityValidate(t *testing.T) {
	due := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		a     Activity
		field string
	}{
		{name: "note", a: Activity{Type: "note", Body: "x"}},
		{name: "note without body", a: Activity{Type: "note", Title: "x"}, field: "body"},
		{name: "task", a: Activity{Type: "task", Title: "x", DueAt: &due, Done: true}},
		{name: "task without title", a: Activity{Type: "task"}, field: "title"},
		{name: "deal", a: Activity{Type: "deal", Title: "x", Value: "-10.5", Currency: "PLN", Stage: "won"}},
		{name: "deal value without currency", a: Activity{Type: "deal", Title: "x", Value: "10"}, field: "currency"},
		{name: "deal bad currency", a: Activity{Type: "deal", Title: "x", Value: "10", Currency: "eur"}, field: "currency"},
		{name: "deal bad value", a: Activity{Type: "deal", Title: "x", Value: "1e5", Currency: "EUR"}, field: "value"},
		{name: "deal bad stage", a: Activity{Type: "deal", Title: "x", Stage: "Won!"}, field: "stage"},
		{name: "free type", a: Activity{Type: "meeting", Body: "x"}},
		{name: "free type empty", a: Activity{Type: "meeting"}, field: "title"},
		{name: "bad type", a: Activity{Type: "Meeting", Body: "x"}, field: "type"},
		{name: "no type", a: Activity{Body: "x"}, field: "type"},
		{name: "due date on a note", a: Activity{Type: "note", Body: "x", DueAt: &due}, field: "due_at"},
		{name: "done note", a: Activity{Type: "note", Body: "x", Done: true}, field: "done"},
		{name: "value on a note", a: Activity{Type: "note", Body: "x", Value: "1"}, field: "value"},
		{name: "NUL in body", a: Activity{Type: "note", Body: "a\x00b"}, field: "body"},
		{name: "bad UTF-8", a: Activity{Type: "note", Body: "a\xffb"}, field: "body"},
		{name: "long title", a: Activity{Type: "task", Title: strings.Repeat("x", MaxActivityTitle+1)}, field: "title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			if tt.field == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tt.field != "" {
				if e := AsError(err); e == nil || e.Code != EINVALID || e.Field != tt.field {
					t.Fatalf("got %v, want invalid %s", err, tt.field)
				}
			}
		})
	}
}
