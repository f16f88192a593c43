package importer

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// part is a file of a workbook's archive.
type part struct{ name, body string }

// zipParts packs the parts, in order, into a ZIP archive.
func zipParts(t testing.TB, parts ...part) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := z.Create(p.name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p.body)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const (
	mainNS = `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`
	relNS  = `xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
)

// book is a workbook written by hand: its first sheet's <sheetData>
// content, and optionally shared strings, styles and the 1904 system.
type book struct {
	rows, strings, styles string
	date1904              bool
}

func (b book) bytes(t testing.TB) []byte {
	t.Helper()
	pr := ""
	if b.date1904 {
		pr = `<workbookPr date1904="1"/>`
	}
	parts := []part{
		{"[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8"?><workbook ` + mainNS + ` ` + relNS + `>` + pr +
			`<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`</Relationships>`},
		{"xl/worksheets/sheet1.xml", `<worksheet ` + mainNS + `><sheetData>` + b.rows + `</sheetData></worksheet>`},
	}
	if b.strings != "" {
		parts = append(parts, part{"xl/sharedStrings.xml", `<sst ` + mainNS + `>` + b.strings + `</sst>`})
	}
	if b.styles != "" {
		parts = append(parts, part{"xl/styles.xml", `<styleSheet ` + mainNS + `>` + b.styles + `</styleSheet>`})
	}
	return zipParts(t, parts...)
}

// dateStyles: style 1 a built-in date, 2 a custom date and time, 3 a
// custom format with "Day" quoted, 4 a built-in date and time, 5 a
// built-in time, 6 a colour, 7 a custom month.
const dateStyles = `<numFmts count="4"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd hh:mm"/>` +
	`<numFmt numFmtId="165" formatCode="&quot;Day &quot;0.00"/><numFmt numFmtId="166" formatCode="[Red]0.00"/>` +
	`<numFmt numFmtId="167" formatCode="mmm"/></numFmts>` +
	`<cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs>` +
	`<cellXfs count="8"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/>` +
	`<xf numFmtId="22"/><xf numFmtId="20"/><xf numFmtId="166"/><xf numFmtId="167"/></cellXfs>`

func TestParseXLSXCells(t *testing.T) {
	head := `<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>v</t></is></c></row>`
	tests := []struct {
		name   string
		book   book
		header string
		rows   []string // line:cell|cell
	}{
		{name: "shared strings, rich text, phonetic runs left out, escapes",
			book: book{
				strings: `<si><t>email</t></si><si><r><rPr><b/></rPr><t>An</t></r><r><t xml:space="preserve">n </t></r>` +
					`<rPh sb="0" eb="1"><t>アン</t></rPh></si><si><t>a@x.eu</t></si><si><t>A_x005F_x0008_B_x0041_</t></si>`,
				rows: `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>` +
					`<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row>`},
			header: "email|Ann ", rows: []string{"2:a@x.eu|A_x0008_BA"}},
		{name: "inline strings with runs",
			book:   book{rows: head + `<row r="2"><c r="A2" t="inlineStr"><is><r><t>Ma</t></r><r><t>ry&amp;Co</t></r></is></c></row>`},
			header: "email|v", rows: []string{"2:Mary&Co"}},
		{name: "sparse rows and cells",
			book: book{rows: head +
				`<row r="4"><c r="A4" t="inlineStr"><is><t>x</t></is></c><c r="C4" t="inlineStr"><is><t>z</t></is></c></row>` +
				`<row r="5"><c r="A5" s="0"/><c r="B5" t="inlineStr"><is><t></t></is></c></row>` +
				`<row><c t="inlineStr"><is><t>p</t></is></c><c t="inlineStr"><is><t>q</t></is></c></row>` +
				`<row r="9"><c r="C9"><v>1</v></c><c><v>2</v></c></row>`},
			header: "email|v", rows: []string{"4:x||z", "6:p|q", "9:||1|2"}},
		{name: "dates",
			book: book{styles: dateStyles, rows: head + `<row r="2">` +
				`<c r="A2" s="1"><v>45292</v></c><c r="B2" s="2"><v>45292.5</v></c><c r="C2" s="3"><v>1.5</v></c>` +
				`<c r="D2" s="4"><v>45292.25</v></c><c r="E2" s="5"><v>0.75</v></c><c r="F2" s="6"><v>12.5</v></c>` +
				`<c r="G2" s="1"><v>59</v></c><c r="H2" s="1"><v>61</v></c><c r="I2" s="1"><v>60</v></c>` +
				`<c r="J2" s="7"><v>45292</v></c><c r="K2" s="9"><v>45292</v></c><c r="L2" s="1"><v>-1</v></c></row>`},
			header: "email|v", rows: []string{"2:2024-01-01|2024-01-01T12:00:00|1.5|2024-01-01T06:00:00|18:00:00|12.5|1900-02-28|1900-03-01|60|2024-01-01|45292|-1"}},
		{name: "dates in the 1904 system",
			book: book{styles: dateStyles, date1904: true, rows: head +
				`<row r="2"><c r="A2" s="1"><v>0</v></c><c r="B2" s="1"><v>43830</v></c><c r="C2" s="2"><v>43830.75</v></c></row>`},
			header: "email|v", rows: []string{"2:1904-01-01|2024-01-01|2024-01-01T18:00:00"}},
		{name: "booleans, errors, formulas and numbers",
			book: book{rows: head + `<row r="2"><c r="A2" t="b"><v>1</v></c><c r="B2" t="b"><v>0</v></c>` +
				`<c r="C2" t="e"><v>#DIV/0!</v></c><c r="D2" t="str"><f>A1&amp;"x"</f><v>ax</v></c><c r="E2"><f>1+1</f></c>` +
				`<c r="F2"><v>0.30000000000000004</v></c><c r="G2"><v>1E-3</v></c><c r="H2"><v>007</v></c>` +
				`<c r="I2"><v>123456789012345678</v></c><c r="J2"><v>-2.5</v></c><c r="K2"><v>=1+1</v></c></row>`},
			header: "email|v", rows: []string{"2:TRUE|FALSE|#DIV/0!|ax||0.3|0.001|7|1.23456789012346E+17|-2.5|=1+1"}},
		{name: "namespace prefixes and rows of empty cells",
			book: book{rows: `<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>email</x:t></x:is></x:c></x:row>` +
				`<x:row r="2"><x:c r="A2" t="s"/></x:row><x:row r="3"><x:c r="A3"><x:v>5</x:v></x:c></x:row>`},
			header: "email", rows: []string{"3:5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header, rows, err := readAll(t, tt.book.bytes(t))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(header, "|"); got != tt.header {
				t.Fatalf("header %q, want %q", got, tt.header)
			}
			var got []string
			for _, r := range rows {
				if r.Err != nil {
					t.Fatalf("row error %v", r.Err)
				}
				got = append(got, strings.Join([]string{strconv.Itoa(r.Line), strings.Join(r.Cells, "|")}, ":"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.rows, "\n") {
				t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.rows, "\n"))
			}
		})
	}
}

func TestParseXLSXHostile(t *testing.T) {
	head := `<row r="1"><c r="A1" t="inlineStr"><is><t>email</t></is></c><c r="B1" t="inlineStr"><is><t>name</t></is></c></row>`
	big := strings.Repeat("x", MaxField+1)
	tests := []struct {
		name  string
		data  []byte
		fatal string // a fatal error containing this
		line  int    // else the first row error's line, column and reason
		col   string
		want  string
	}{
		{name: "bad shared string index", data: book{strings: `<si><t>a</t></si>`,
			rows: head + `<row r="2"><c r="A2" t="s"><v>0</v></c><c r="B2" t="s"><v>1</v></c></row><row r="3"><c r="A3" t="s"><v>-1</v></c></row>`}.bytes(t),
			line: 2, col: "name", want: "shared string index is not valid"},
		{name: "a column past the limit", data: book{rows: head + `<row r="2"><c r="A2"><v>1</v></c><c r="ALM2"><v>1</v></c></row>`}.bytes(t),
			line: 2, col: "#1001", want: "more than 1000 columns"},
		{name: "a column past any sheet's", data: book{rows: head + `<row r="2"><c r="ZZZZZZZZZZZZZZZZZZZ2"><v>1</v></c></row>`}.bytes(t),
			line: 2, col: "#1048576", want: "more than 1000 columns"},
		{name: "a header past the limit", data: book{rows: `<row r="1"><c r="ALM1"><v>1</v></c></row>`}.bytes(t),
			fatal: "the header row: line 1, column \"#1001\": more than 1000 columns"},
		{name: "a bad cell reference", data: book{rows: head + `<row r="2"><c r="2A"><v>1</v></c></row>`}.bytes(t),
			line: 2, want: "cell reference is not valid"},
		{name: "1 MB inline string", data: book{rows: head + `<row r="2"><c r="B2" t="inlineStr"><is><t>` + big + `</t></is></c></row>`}.bytes(t),
			line: 2, col: "name", want: "longer than"},
		{name: "1 MB shared string", data: book{strings: `<si><t>` + big + `</t></si>`,
			rows: head + `<row r="2"><c r="B2" t="s"><v>0</v></c></row>`}.bytes(t),
			line: 2, col: "name", want: "longer than"},
		{name: "rows out of order", data: book{rows: head + `<row r="3"><c r="A3"><v>1</v></c></row><row r="2"><c r="A2"><v>1</v></c></row>`}.bytes(t),
			fatal: "line 2: the workbook cannot be read: its rows are out of order"},
		{name: "a row number past Excel's", data: book{rows: head + `<row r="1048577"><c r="A3"><v>1</v></c></row>`}.bytes(t),
			fatal: "row number is not valid"},
		{name: "a sheet cut short", data: zipParts(t, part{"xl/workbook.xml", `<workbook ` + relNS + `><sheets><sheet r:id="rId1"/></sheets></workbook>`},
			part{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`},
			part{"xl/worksheets/sheet1.xml", `<worksheet><sheetData>` + head + `<row r="2"><c r="A2"><v>1</v>`}),
			fatal: "line 2: the workbook cannot be read: its sheet is cut short"},
		{name: "not XML", data: book{rows: head + `<row r="2"><c r="A2"><v>1</v></c></row><row r="3"><c r="A3"><v>&bogus;</v></c></row>`}.bytes(t),
			fatal: "line 3: the workbook cannot be read: its sheet is not valid XML"},
		{name: "no sheet", data: zipParts(t, part{"xl/workbook.xml", `<workbook><sheets/></workbook>`}), fatal: "the workbook has no sheet"},
		{name: "no workbook", data: zipParts(t, part{"word/document.xml", `<document/>`}), fatal: "it has no xl/workbook.xml"},
		{name: "a sheet that is missing", data: zipParts(t, part{"xl/workbook.xml", `<workbook ` + relNS + `><sheets><sheet r:id="rId1"/></sheets></workbook>`}),
			fatal: "its first sheet is missing"},
		{name: "not a ZIP archive", data: []byte("PK\x03\x04 but nothing more"), fatal: "the workbook cannot be read"},
		{name: "empty sheet", data: book{}.bytes(t), fatal: "line 1: the sheet is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := firstRowError(t, tt.data, tt.fatal)
			if bad == nil {
				return
			}
			if bad.Line != tt.line || bad.Column != tt.col || !strings.Contains(bad.Reason, tt.want) {
				t.Fatalf("row error %+v, want line %d column %q reason %q", bad, tt.line, tt.col, tt.want)
			}
			if strings.Contains(bad.Error(), "xxxx") {
				t.Fatal("the error repeats the cell's value")
			}
		})
	}
	// A good row after a bad one is still read.
	_, rows, err := readAll(t, book{strings: `<si><t>a</t></si>`,
		rows: head + `<row r="2"><c r="A2" t="s"><v>7</v></c></row><row r="3"><c r="A3" t="s"><v>0</v></c></row>`}.bytes(t))
	if err != nil || len(rows) != 2 || rows[1].Err != nil || rows[1].Line != 3 || rows[1].Cells[0] != "a" {
		t.Fatalf("rows after a bad one: %+v, %v", rows, err)
	}
}

// TestParseXLSXFirstSheet: the first sheet is the workbook's first
// <sheet>, found through its relationship (here an absolute target), not
// the archive's first file nor one named Sheet1.
func TestParseXLSXFirstSheet(t *testing.T) {
	data := zipParts(t,
		part{"xl/worksheets/sheet1.xml", `<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>wrong</t></is></c></row></sheetData></worksheet>`},
		part{"xl/worksheets/contacts.xml", `<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>email</t></is></c></row>` +
			`<row r="2"><c t="inlineStr"><is><t>a@x.eu</t></is></c></row></sheetData></worksheet>`},
		part{"xl/workbook.xml", `<workbook ` + mainNS + ` xmlns:rel="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>` +
			`<sheet name="Kontakty" sheetId="2" rel:id="rId7"/><sheet name="Sheet1" sheetId="1" rel:id="rId1"/></sheets></workbook>`},
		part{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>` +
			`<Relationship Id="rId7" Target="/xl/worksheets/contacts.xml"/></Relationships>`},
	)
	for _, r := range []io.Reader{bytes.NewReader(data), struct{ io.Reader }{bytes.NewReader(data)}} {
		r, err := Open(r)
		if err != nil {
			t.Fatal(err)
		}
		row, err := r.Next()
		if err != nil || strings.Join(r.Header(), ",") != "email" || row.Line != 2 || row.Cells[0] != "a@x.eu" {
			t.Fatalf("header %q, row %+v, %v", r.Header(), row, err)
		}
		r.Close()
	}
}

// TestParseXLSXExcelize reads what excelize writes: dates as ISO dates,
// booleans as TRUE and FALSE, numbers as Excel shows them, and a first
// sheet not named Sheet1.
func TestParseXLSXExcelize(t *testing.T) {
	f := excelize.NewFile()
	defer f.Close()
	f.SetSheetName("Sheet1", "Kontakty")
	f.NewSheet("Other")
	f.SetSheetRow("Kontakty", "A1", &[]any{"email", "joined", "at", "vip", "score", "note"})
	f.SetSheetRow("Kontakty", "A2", &[]any{"a@x.eu", time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 3, 5, 14, 30, 0, 0, time.UTC), true, 3.25, "=SUM(A1)"})
	f.SetSheetRow("Kontakty", "A3", &[]any{"b@x.eu", nil, nil, false, 42})
	f.SetSheetRow("Other", "A1", &[]any{"other"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	header, rows, err := readAll(t, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(header, "|")
	for _, r := range rows {
		got += "\n" + strconv.Itoa(r.Line) + ":" + strings.Join(r.Cells, "|")
	}
	want := "email|joined|at|vip|score|note\n2:a@x.eu|2024-03-05|2024-03-05T14:30:00|TRUE|3.25|=SUM(A1)\n3:b@x.eu|||FALSE|42"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// TestParseXLSXUnzipLimits: a sheet larger unpacked than the limit, a ZIP
// bomb of blanks, and a part whose header understates its size are
// refused with an error, without their bytes held in memory.
func TestParseXLSXUnzipLimits(t *testing.T) {
	rows := `<row r="1"><c t="inlineStr"><is><t>email</t></is></c></row>` +
		strings.Repeat(`<row><c t="inlineStr"><is><t>a@x.eu</t></is></c></row>`, 200)
	data := book{rows: rows}.bytes(t)
	if _, _, err := readAll(t, data); err != nil {
		t.Fatal(err)
	}
	defer func(m int64) { maxXLSXUnzip = m }(maxXLSXUnzip)
	maxXLSXUnzip = 4 << 10
	if _, _, err := readAll(t, data); err == nil || !strings.Contains(err.Error(), "its sheet is too large unpacked; save it as CSV") {
		t.Fatalf("error %v", err)
	}
	maxXLSXUnzip = 1 << 30

	// 64 MiB of blanks, packed in some 64 KiB: one XML text, refused at
	// the token limit.
	var sheet bytes.Buffer
	z := zip.NewWriter(&sheet)
	for _, p := range []part{{"xl/workbook.xml", `<workbook ` + relNS + `><sheets><sheet r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`}} {
		w, _ := z.Create(p.name)
		io.WriteString(w, p.body)
	}
	w, _ := z.Create("xl/worksheets/sheet1.xml")
	io.WriteString(w, `<worksheet><sheetData><row r="1"><c t="inlineStr"><is><t>`)
	blanks := bytes.Repeat([]byte(" "), 1<<20)
	for range 64 {
		w.Write(blanks)
	}
	z.Close()
	if sheet.Len() > 1<<20 {
		t.Fatalf("the bomb packs to %d bytes", sheet.Len())
	}
	if _, _, err := readAll(t, sheet.Bytes()); err == nil || !strings.Contains(err.Error(), "line 1: the workbook cannot be read: its sheet holds an XML tag or text longer than 8 MiB") {
		t.Fatalf("error %v", err)
	}

	// A sheet whose header says 100 bytes unpacked.
	body := []byte(`<worksheet><sheetData>` + rows + `</sheetData></worksheet>`)
	var packed bytes.Buffer
	fw, _ := flate.NewWriter(&packed, flate.BestCompression)
	fw.Write(body)
	fw.Close()
	var lying bytes.Buffer
	z = zip.NewWriter(&lying)
	for _, p := range []part{{"xl/workbook.xml", `<workbook ` + relNS + `><sheets><sheet r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>`}} {
		w, _ := z.Create(p.name)
		io.WriteString(w, p.body)
	}
	w, err := z.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(body),
		CompressedSize64: uint64(packed.Len()), UncompressedSize64: 100})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(packed.Bytes())
	z.Close()
	if _, _, err := readAll(t, lying.Bytes()); err == nil || !strings.Contains(err.Error(), "the workbook cannot be read: its sheet") {
		t.Fatalf("error %v", err)
	}
}

// TestParseXLSXPackedLimit: a workbook over MaxXLSX packed is refused,
// from a file and from a stream.
func TestParseXLSXPackedLimit(t *testing.T) {
	huge := io.MultiReader(strings.NewReader("PK\x03\x04"), io.LimitReader(zeros{}, MaxXLSX))
	if _, err := Open(huge); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB; save it as CSV") {
		t.Fatalf("stream: %v", err)
	}
	if _, err := Open(&sparseFile{size: MaxXLSX + 1}); err == nil || !strings.Contains(err.Error(), "larger than 64 MiB; save it as CSV") {
		t.Fatalf("file: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// sparseFile is a file of size bytes that begins like a ZIP archive.
type sparseFile struct {
	size, off int64
}

func (f *sparseFile) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.off)
	f.off += int64(n)
	return n, err
}

func (f *sparseFile) ReadAt(p []byte, off int64) (int, error) {
	if off >= f.size {
		return 0, io.EOF
	}
	n := copy(p, make([]byte, min(int64(len(p)), f.size-off)))
	copy(p[:n], []byte("PK\x03\x04")[min(off, 4):])
	return n, nil
}

func (f *sparseFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += f.off
	case io.SeekEnd:
		off += f.size
	}
	f.off = off
	return off, nil
}

// TestParseXLSXFuzzSeed: the fuzz target's workbooks read as they should,
// so the fuzzer starts from files that get past the archive.
func TestParseXLSXFuzzSeed(t *testing.T) {
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		header, rows, err := readAll(t, fuzzBook(t, method))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(header, "|")
		for _, r := range rows {
			got += "\n" + strconv.Itoa(r.Line) + ":" + strings.Join(r.Cells, "|")
		}
		if want := "email|AnA|d\n3:a@x.eu||2024-01-01T12:00:00|TRUE\n4:2024-01-01|=1|#N/A|1500"; got != want {
			t.Fatalf("got\n%s\nwant\n%s", got, want)
		}
	}
}

// TestParseXLSXFile: a workbook in a file is read from the file's
// position, and a CSV file after a failed look still reads from its start.
func TestParseXLSXFile(t *testing.T) {
	dir := t.TempDir()
	data := append([]byte("junk"), book{rows: `<row r="1"><c t="inlineStr"><is><t>email</t></is></c></row><row r="2"><c t="inlineStr"><is><t>a@x.eu</t></is></c></row>`}.bytes(t)...)
	for _, tt := range []struct{ name, want string }{{"book.xlsx", "email a@x.eu"}, {"people.csv", "email a@x.eu"}} {
		path := dir + "/" + tt.name
		body, skip := data, int64(4)
		if tt.name == "people.csv" {
			body, skip = []byte("junkemail\na@x.eu\n"), 4
		}
		if err := os.WriteFile(path, body, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		f.Seek(skip, io.SeekStart)
		r, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		row, err := r.Next()
		if err != nil || r.Header()[0]+" "+row.Cells[0] != tt.want {
			t.Fatalf("%s: header %q, row %+v, %v", tt.name, r.Header(), row, err)
		}
		r.Close()
		f.Close()
	}
}
