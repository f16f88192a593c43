package importer

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// readAll reads a file through Open and returns its header, its rows and
// the fatal error, if any.
func readAll(t testing.TB, data []byte) ([]string, []*Row, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	var rows []*Row
	for {
		row, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Header(), rows, nil
		} else if err != nil {
			return r.Header(), rows, err
		}
		rows = append(rows, row)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		header []string
		rows   [][]string
		lines  []int
	}{
		{name: "comma LF", in: "email,name\na@x.eu,Ann\nb@x.eu,Bob\n", header: []string{"email", "name"},
			rows: [][]string{{"a@x.eu", "Ann"}, {"b@x.eu", "Bob"}}, lines: []int{2, 3}},
		{name: "semicolon CRLF BOM", in: "\xEF\xBB\xBFemail;name\r\na@x.eu;Ann\r\n", header: []string{"email", "name"},
			rows: [][]string{{"a@x.eu", "Ann"}}, lines: []int{2}},
		{name: "tab no final newline", in: "email\tname\na@x.eu\tAnn", header: []string{"email", "name"},
			rows: [][]string{{"a@x.eu", "Ann"}}, lines: []int{2}},
		{name: "pipe", in: "email|name\na@x.eu|A, B\n", header: []string{"email", "name"},
			rows: [][]string{{"a@x.eu", "A, B"}}, lines: []int{2}},
		{name: "quoted with delimiter, quote and newline", in: "email,note\n\"a@x.eu\",\"one, \"\"two\"\"\nthree\"\nb@x.eu,x\n",
			header: []string{"email", "note"}, rows: [][]string{{"a@x.eu", "one, \"two\"\nthree"}, {"b@x.eu", "x"}}, lines: []int{2, 4}},
		{name: "semicolon sniffed though commas are quoted", in: "\"a,b\";c\n1;2\n", header: []string{"a,b", "c"},
			rows: [][]string{{"1", "2"}}, lines: []int{2}},
		{name: "blank lines skipped and counted", in: "email\n\n\r\na@x.eu\n\n", header: []string{"email"},
			rows: [][]string{{"a@x.eu"}}, lines: []int{4}},
		{name: "formula cells stay text", in: "email,name\na@x.eu,=cmd|' /C calc'!A0\nb@x.eu,+1\nc@x.eu,@SUM(A1)\nd@x.eu,-2\n",
			header: []string{"email", "name"}, lines: []int{2, 3, 4, 5},
			rows: [][]string{{"a@x.eu", "=cmd"}, {"b@x.eu", "+1"}, {"c@x.eu", "@SUM(A1)"}, {"d@x.eu", "-2"}}},
		{name: "short and long rows kept as they are", in: "a,b\n1\n1,2,3\n", header: []string{"a", "b"},
			rows: [][]string{{"1"}, {"1", "2", "3"}}, lines: []int{2, 3}},
		{name: "empty fields", in: "a,b,c\n,,\n", header: []string{"a", "b", "c"}, rows: [][]string{{"", "", ""}}, lines: []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, rows, err := readAll(t, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(header, "\x00") != strings.Join(tt.header, "\x00") {
				t.Fatalf("header %q, want %q", header, tt.header)
			}
			if tt.name == "formula cells stay text" {
				// The pipe is the sniffed delimiter's rival: comma wins.
				tt.rows[0][1] = "=cmd|' /C calc'!A0"
			}
			if len(rows) != len(tt.rows) {
				t.Fatalf("%d rows, want %d: %+v", len(rows), len(tt.rows), rows)
			}
			for i, r := range rows {
				if r.Err != nil {
					t.Fatalf("row %d: %v", i, r.Err)
				}
				if strings.Join(r.Cells, "\x00") != strings.Join(tt.rows[i], "\x00") || r.Line != tt.lines[i] {
					t.Errorf("row %d: line %d %q, want line %d %q", i, r.Line, r.Cells, tt.lines[i], tt.rows[i])
				}
			}
		})
	}
}

func TestParseHostile(t *testing.T) {
	wide := strings.Repeat("c,", 10000) + "c\n"
	big := strings.Repeat("x", MaxField+1)
	tests := []struct {
		name  string
		in    string
		fatal string // a fatal error containing this
		line  int    // else the row error's line, column and reason
		col   string
		want  string
	}{
		{name: "invalid UTF-8", in: "email,name\na@x.eu,ok\nb@x.eu,\xff\xfe\n", line: 3, col: "name", want: "not valid UTF-8"},
		{name: "ten thousand columns in the header", in: wide, fatal: "more than 1000 columns"},
		{name: "ten thousand columns in a row", in: "email\n" + wide, line: 2, col: "#1001", want: "more than 1000 columns"},
		{name: "1 MB field", in: "email,note\na@x.eu," + big + "\nb@x.eu,ok\n", line: 2, col: "note", want: "longer than"},
		{name: "1 MB quoted field", in: "email,note\na@x.eu,\"" + big + "\"\n", line: 2, col: "note", want: "longer than"},
		{name: "unterminated quote", in: "email\n\"a@x.eu\nb\n", fatal: "line 2: a quoted field is not closed"},
		{name: "empty file", in: "", fatal: "empty"},
		{name: "UTF-16", in: "\xFF\xFEe\x00", fatal: "UTF-16"},
		{name: "header not UTF-8", in: "em\xffail\n", fatal: "header row: line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := firstRowError(t, []byte(tt.in), tt.fatal)
			if bad == nil {
				return
			}
			if bad.Line != tt.line || bad.Column != tt.col || !strings.Contains(bad.Reason, tt.want) {
				t.Fatalf("row error %+v, want line %d column %q reason %q", bad, tt.line, tt.col, tt.want)
			}
			if strings.Contains(bad.Error(), "\xff") || strings.Contains(bad.Error(), "xxxx") {
				t.Fatal("the error repeats the cell's value")
			}
		})
	}
	// A good row after a bad one is still read.
	_, rows, _ := readAll(t, []byte("email,note\na@x.eu,"+big+"\nb@x.eu,ok\n"))
	if len(rows) != 2 || rows[1].Err != nil || rows[1].Cells[0] != "b@x.eu" || rows[1].Line != 3 {
		t.Fatalf("rows after a bad one: %+v", rows)
	}
}

func TestParseXLSX(t *testing.T) {
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	f.SetSheetRow(sheet, "A1", &[]any{"email", "first_name", "note"})
	f.SetSheetRow(sheet, "A2", &[]any{"a@x.eu", "Ann", "=1+1"})
	f.SetCellFormula(sheet, "C3", "SUM(1,2)")
	f.SetSheetRow(sheet, "A3", &[]any{"b@x.eu", "Bob"})
	f.SetSheetRow(sheet, "A5", &[]any{"c@x.eu", "Cy"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	header, rows, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(header, ",") != "email,first_name,note" {
		t.Fatalf("header %q", header)
	}
	if len(rows) != 3 || rows[0].Cells[2] != "=1+1" || rows[1].Line != 3 || rows[2].Line != 5 || rows[2].Cells[0] != "c@x.eu" {
		t.Fatalf("rows %+v", rows)
	}
	// The formula is not evaluated: no cached value, no result.
	if len(rows[1].Cells) > 2 && rows[1].Cells[2] == "3" {
		t.Fatal("a formula was evaluated")
	}
}

// FuzzParse feeds the parser arbitrary bytes: it must never panic, hang or
// return a row with invalid UTF-8 or beyond the limits. The corpus is kept
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"email,name\na@x.eu,Ann\n", "\xEF\xBB\xBFa;b\r\n\"x;\"\"y\";z\r\n", "a\tb\n1\t2", "a|b\n\"\n", "a\n\xff\n", "\"a\"b,c\nd"} {
		f.Add([]byte(s))
	}
	// Small workbooks: one stored (the XML as it is, for the fuzzer to
	// change), one deflated.
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		f.Add(fuzzBook(f, method))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		header, rows, err := readAll(t, data)
		if err != nil {
			return
		}
		if len(header) > MaxColumns {
			t.Fatalf("%d header columns", len(header))
		}
		last := 1
		for _, r := range rows {
			if r.Line <= last {
				t.Fatalf("line %d after %d", r.Line, last)
			}
			last = r.Line
			if r.Err != nil {
				continue
			}
			if len(r.Cells) > MaxColumns {
				t.Fatalf("%d columns", len(r.Cells))
			}
			for _, c := range r.Cells {
				if !utf8Valid(c) || len(c) > MaxField {
					t.Fatalf("bad cell at line %d", r.Line)
				}
			}
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\ufffd") == s }

// fuzzBook is a small workbook with shared strings, styles, dates,
// inline strings and sparse rows, its parts packed with method.
func fuzzBook(tb testing.TB, method uint16) []byte {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, p := range []part{
		{"xl/workbook.xml", `<workbook ` + relNS + `><workbookPr date1904="0"/><sheets><sheet name="A" r:id="rId2"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId2" Target="worksheets/s.xml"/>` +
			`<Relationship Id="rId3" Type="x/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
		{"xl/sharedStrings.xml", `<sst><si><t>email</t></si><si><r><t>A</t></r><r><t>n_x0041_</t></r><rPh><t>x</t></rPh></si></sst>`},
		{"xl/styles.xml", `<styleSheet><numFmts><numFmt numFmtId="164" formatCode="d/m/yyyy h:mm"/></numFmts>` +
			`<cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>`},
		{"xl/worksheets/s.xml", `<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>` +
			`<c r="C1" t="inlineStr"><is><t>d</t></is></c></row><row r="3"><c r="A3" t="inlineStr"><is><t>a@x.eu</t></is></c>` +
			`<c r="C3" s="2"><v>45292.5</v></c><c t="b"><v>1</v></c></row><row><c s="1"><v>45292</v></c><c t="str"><f>1</f><v>=1</v></c>` +
			`<c t="e"><v>#N/A</v></c><c><v>1.5E3</v></c></row></sheetData></worksheet>`},
	} {
		w, err := z.CreateHeader(&zip.FileHeader{Name: p.name, Method: method})
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, p.body)
	}
	if err := z.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// firstRowError reads data and, when fatal is set, checks that the file
// is refused with an error containing it and answers nil; otherwise it
// answers the first row's error, failing when there is none.
func firstRowError(t *testing.T, data []byte, fatal string) *RowError {
	t.Helper()
	_, rows, err := readAll(t, data)
	if fatal != "" {
		if err == nil || !strings.Contains(err.Error(), fatal) {
			t.Fatalf("error %v, want one containing %q", err, fatal)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Err != nil {
			return r.Err
		}
	}
	t.Fatal("no row error")
	return nil
}
