package importer

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of a workbook beyond MaxXLSX. Variables, so tests can make them
// small.
var (
	// maxXLSXUnzip bounds the unpacked bytes read of the sheet (and of
	// the shared strings). The sheet streams through, so this bounds the
	// time a zip bomb costs, not the memory.
	maxXLSXUnzip int64 = 1 << 30
	// maxXLSXPart bounds the unpacked size of the small parts read
	// whole: the workbook, its relationships and its styles.
	maxXLSXPart int64 = 32 << 20
	// maxSharedStrings bounds the shared strings table held in memory:
	// its text and 4 bytes a string.
	maxSharedStrings int64 = 128 << 20
	// maxXMLToken bounds one tag, text, comment or CDATA section of the
	// XML, which the decoder holds whole.
	maxXMLToken int64 = 8 << 20
)

// maxSheetRows is the most rows a sheet has (Excel's limit).
const maxSheetRows = 1 << 20

var (
	errUnzipLimit = errors.New("unpacked part over its limit")
	errTokenLimit = errors.New("XML token over its limit")
)

// xlsxReader streams the first sheet of a workbook. It reads the sheet's
// XML as it decompresses it, so memory holds the packed workbook (none,
// when the caller's file can be read at any offset), the shared strings
// and one row; nothing is spilled to a temporary file, so no plaintext of
// an upload reaches the disk. Formulas are never evaluated: a cell gives
// its cached value.
type xlsxReader struct {
	sheet    *xmlPart
	strs     string   // the shared strings, end to end
	strEnds  []uint32 // where each shared string ends in strs
	dateXf   []uint8  // by style (cell s="N"): fmtDate, fmtTime or 0
	date1904 bool
	header   []string
	line     int // the row last read
	inData   bool
	done     bool
	cells    []string
	text     []byte
}

// openXLSX reads a workbook from a stream: the packed bytes are held in
// memory, since a ZIP archive is read from its end.
func openXLSX(br *bufio.Reader) (*xlsxReader, error) {
	data, err := io.ReadAll(io.LimitReader(br, MaxXLSX+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxXLSX {
		return nil, errXLSXSize
	}
	return openZip(bytes.NewReader(data), int64(len(data)))
}

var errXLSXSize = fmt.Errorf("the workbook is larger than %d MiB; save it as CSV", MaxXLSX>>20)

// openXLSXAt opens a workbook the caller can read at any offset (a file),
// from its current position, without reading it into memory. It answers
// nil and no error when r does not hold a workbook there, with r's
// position unchanged.
func openXLSXAt(r interface {
	io.ReaderAt
	io.Seeker
}) (*xlsxReader, error) {
	off, err := r.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil
	}
	end, err := r.Seek(0, io.SeekEnd)
	if _, serr := r.Seek(off, io.SeekStart); err != nil || serr != nil {
		return nil, serr
	}
	var magic [4]byte
	if n, _ := r.ReadAt(magic[:], off); n < 4 || string(magic[:]) != "PK\x03\x04" {
		return nil, nil
	}
	if end-off > MaxXLSX {
		return nil, errXLSXSize
	}
	return openZip(io.NewSectionReader(r, off, end-off), end-off)
}

// openZip finds the first sheet (workbook.xml's first <sheet>, through
// the workbook's relationships), reads the shared strings and the styles,
// and reads the header row.
func openZip(ra io.ReaderAt, size int64) (*xlsxReader, error) {
	z, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("the workbook cannot be read: %w", err)
	}
	parts := make(map[string]*zip.File, len(z.File))
	for _, f := range z.File {
		name := strings.ToLower(strings.ReplaceAll(f.Name, "\\", "/"))
		if _, ok := parts[name]; !ok {
			parts[name] = f
		}
	}
	part := func(name string) *zip.File { return parts[strings.ToLower(name)] }
	wb := part("xl/workbook.xml")
	if wb == nil {
		return nil, errors.New("the workbook cannot be read: it has no xl/workbook.xml")
	}
	x := &xlsxReader{}
	rid, err := x.readWorkbook(wb)
	if err != nil {
		return nil, err
	}
	if rid == "" {
		return nil, errors.New("the workbook has no sheet")
	}
	rels, err := readRels(part("xl/_rels/workbook.xml.rels"))
	if err != nil {
		return nil, err
	}
	target := func(r rel, def string) string {
		if r.target == "" {
			return def
		}
		if strings.HasPrefix(r.target, "/") {
			return path.Clean(r.target[1:])
		}
		return path.Join("xl", r.target)
	}
	sheet := part(target(rels.byID[rid], ""))
	if sheet == nil {
		return nil, errors.New("the workbook cannot be read: its first sheet is missing")
	}
	if f := part(target(rels.strings, "xl/sharedStrings.xml")); f != nil {
		if err := x.readSharedStrings(f); err != nil {
			return nil, err
		}
	}
	if f := part(target(rels.styles, "xl/styles.xml")); f != nil {
		if err := x.readStyles(f); err != nil {
			return nil, err
		}
	}
	if x.sheet, err = openPart(sheet, maxXLSXUnzip); err != nil {
		return nil, x.partError(err, "its sheet")
	}
	row, err := x.Next()
	if err == io.EOF {
		x.Close()
		return nil, errors.New("line 1: the sheet is empty; the first row must name the columns")
	} else if err != nil {
		x.Close()
		return nil, err
	}
	if row.Err != nil {
		x.Close()
		return nil, fmt.Errorf("the header row: %w", row.Err)
	}
	x.header = row.Cells
	return x, nil
}

func (x *xlsxReader) Header() []string { return x.header }

func (x *xlsxReader) Close() error {
	if x.sheet != nil {
		return x.sheet.Close()
	}
	return nil
}

// xmlPart is a part of the archive being decoded as it decompresses.
type xmlPart struct {
	rc io.ReadCloser
	br *limitedBytes
	d  *xml.Decoder
}

// openPart opens a part for decoding, refusing one whose declared size is
// over max (archive/zip refuses to read past the declared size, and
// limitedBytes counts the bytes anyway).
func openPart(f *zip.File, max int64) (*xmlPart, error) {
	if f.UncompressedSize64 > uint64(max) {
		return nil, errUnzipLimit
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	br := &limitedBytes{src: rc, buf: make([]byte, 64<<10), max: max}
	return &xmlPart{rc: rc, br: br, d: xml.NewDecoder(br)}, nil
}

// token returns the next raw token (element names keep their prefix in
// Space; no namespace is resolved, no nesting kept, so depth costs no
// memory). CharData is only valid until the next call.
func (p *xmlPart) token() (xml.Token, error) {
	p.br.mark = p.br.pos()
	return p.d.RawToken()
}

func (p *xmlPart) Close() error { return p.rc.Close() }

// limitedBytes is the decoder's byte reader (the decoder reads a byte at
// a time and never ahead): it fails once more than max bytes were read,
// or once one token has taken more than maxXMLToken.
type limitedBytes struct {
	src  io.Reader
	buf  []byte
	r, w int
	base int64 // bytes read before buf
	mark int64 // where the token being decoded began
	max  int64
	err  error
}

func (b *limitedBytes) pos() int64 { return b.base + int64(b.r) }

func (b *limitedBytes) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

func (b *limitedBytes) Read(p []byte) (int, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

func (b *limitedBytes) fill() error {
	if b.err != nil {
		return b.err
	}
	b.base += int64(b.w)
	b.r, b.w = 0, 0
	if b.base-b.mark > maxXMLToken {
		b.err = errTokenLimit
		return b.err
	}
	for b.w == 0 && b.err == nil {
		b.w, b.err = b.src.Read(b.buf)
	}
	if b.base+int64(b.w) > b.max {
		b.w, b.err = 0, errUnzipLimit
	}
	if b.w > 0 {
		return nil
	}
	return b.err
}

// partError describes a failure to read a part of the workbook, without
// the part's content.
func (x *xlsxReader) partError(err error, what string) error {
	var syntax *xml.SyntaxError
	switch {
	case errors.Is(err, errUnzipLimit):
		return fmt.Errorf("the workbook cannot be read: %s is too large unpacked; save it as CSV", what)
	case errors.Is(err, errTokenLimit):
		return fmt.Errorf("the workbook cannot be read: %s holds an XML tag or text longer than %d MiB", what, maxXMLToken>>20)
	case errors.As(err, &syntax):
		return fmt.Errorf("the workbook cannot be read: %s is not valid XML (line %d of its XML)", what, syntax.Line)
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the workbook cannot be read: %s is cut short", what)
	}
	return fmt.Errorf("the workbook cannot be read: %s: %w", what, err)
}

// readWorkbook reads date1904 and the relationship id of the first sheet.
func (x *xlsxReader) readWorkbook(f *zip.File) (string, error) {
	p, err := openPart(f, maxXLSXPart)
	if err != nil {
		return "", x.partError(err, "xl/workbook.xml")
	}
	defer p.Close()
	for {
		tok, err := p.token()
		if err == io.EOF {
			return "", nil
		} else if err != nil {
			return "", x.partError(err, "xl/workbook.xml")
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "workbookPr":
			v := attr(se, "date1904")
			x.date1904 = v == "1" || v == "true"
		case "sheet":
			for _, a := range se.Attr {
				if a.Name.Local == "id" && a.Name.Space != "" {
					return a.Value, nil
				}
			}
			return "", errors.New("the workbook cannot be read: its first sheet has no relationship id")
		}
	}
}

// rel is a relationship's target.
type rel struct{ target string }

type workbookRels struct {
	byID            map[string]rel
	strings, styles rel
}

// readRels reads the workbook's relationships: targets by id, and the
// shared strings' and styles' parts.
func readRels(f *zip.File) (*workbookRels, error) {
	rels := &workbookRels{byID: map[string]rel{}}
	if f == nil {
		return rels, nil
	}
	x := &xlsxReader{}
	p, err := openPart(f, maxXLSXPart)
	if err != nil {
		return nil, x.partError(err, "xl/_rels/workbook.xml.rels")
	}
	defer p.Close()
	for {
		tok, err := p.token()
		if err == io.EOF {
			return rels, nil
		} else if err != nil {
			return nil, x.partError(err, "xl/_rels/workbook.xml.rels")
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" || attr(se, "TargetMode") == "External" {
			continue
		}
		r := rel{target: attr(se, "Target")}
		if _, ok := rels.byID[attr(se, "Id")]; !ok {
			rels.byID[attr(se, "Id")] = r
		}
		switch typ := attr(se, "Type"); {
		case strings.HasSuffix(typ, "/sharedStrings"):
			rels.strings = r
		case strings.HasSuffix(typ, "/styles"):
			rels.styles = r
		}
	}
}

// readSharedStrings reads the shared strings table: the text of each
// <si>, its runs' <t> end to end (not the phonetic <rPh>).
func (x *xlsxReader) readSharedStrings(f *zip.File) error {
	const what = "xl/sharedStrings.xml"
	p, err := openPart(f, maxXLSXUnzip)
	if err != nil {
		return x.partError(err, what)
	}
	defer p.Close()
	var sb strings.Builder
	// The text is never longer than the XML: grow once.
	sb.Grow(int(min(int64(f.UncompressedSize64), maxSharedStrings)))
	var ends []uint32
	var si []byte
	inSI, inT, rph := false, false, 0
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		} else if err != nil {
			return x.partError(err, what)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "si":
				inSI, si = true, si[:0]
			case "t":
				inT = inSI && rph == 0
			case "rPh":
				rph++
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "si":
				if !inSI {
					continue
				}
				inSI = false
				sb.Write(unescapeOOXML(si))
				if int64(sb.Len())+4*int64(len(ends)+1) > maxSharedStrings || sb.Len() > math.MaxUint32 {
					return fmt.Errorf("the workbook cannot be read: its shared strings take more than %d MiB; save it as CSV", maxSharedStrings>>20)
				}
				ends = append(ends, uint32(sb.Len()))
			case "t":
				inT = false
			case "rPh":
				rph = max(rph-1, 0)
			}
		case xml.CharData:
			if inT && len(si) <= MaxField {
				si = append(si, t...)
			}
		}
	}
	x.strs, x.strEnds = sb.String(), ends
	return nil
}

// sharedString answers shared string i.
func (x *xlsxReader) sharedString(i int) string {
	start := uint32(0)
	if i > 0 {
		start = x.strEnds[i-1]
	}
	return x.strs[start:x.strEnds[i]]
}

const (
	fmtDate = 1 + iota // a date, and maybe a time
	fmtTime            // a time only
)

// readStyles reads which cell styles (cellXfs) show a number as a date or
// a time: built-in formats 14-22 and 45-47, and custom formats with date
// or time tokens.
func (x *xlsxReader) readStyles(f *zip.File) error {
	const what = "xl/styles.xml"
	p, err := openPart(f, maxXLSXPart)
	if err != nil {
		return x.partError(err, what)
	}
	defer p.Close()
	custom := map[int]uint8{}
	var xfs []int
	inXfs := false
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		} else if err != nil {
			return x.partError(err, what)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "numFmt":
				if id, err := strconv.Atoi(attr(t, "numFmtId")); err == nil {
					custom[id] = formatKind(attr(t, "formatCode"))
				}
			case "cellXfs":
				inXfs = true
			case "xf":
				if inXfs {
					id, _ := strconv.Atoi(attr(t, "numFmtId"))
					xfs = append(xfs, id)
				}
			}
		case xml.EndElement:
			if t.Name.Local == "cellXfs" {
				inXfs = false
			}
		}
	}
	x.dateXf = make([]uint8, len(xfs))
	for i, id := range xfs {
		if k, ok := custom[id]; ok {
			x.dateXf[i] = k
		} else if id >= 14 && id <= 17 || id == 22 {
			x.dateXf[i] = fmtDate
		} else if id >= 18 && id <= 21 || id >= 45 && id <= 47 {
			x.dateXf[i] = fmtTime
		}
	}
	return nil
}

// formatKind tells a custom number format that shows a date (d, y, or m
// without h or s) or a time (h, s), looking outside quoted text, escaped
// characters and [colour] or [$-locale] brackets.
func formatKind(code string) uint8 {
	var date, month, clock bool
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '\\', '_', '*':
			i++
		case '[':
			j := strings.IndexByte(code[i:], ']')
			if j < 0 {
				i = len(code)
				continue
			}
			// [h], [mm], [ss]: elapsed time.
			if in := strings.ToLower(code[i+1 : i+j]); in != "" && strings.Trim(in, "hms") == "" {
				clock = true
			}
			i += j
		case 'd', 'D', 'y', 'Y':
			date = true
		case 'm', 'M':
			month = true
		case 'h', 'H', 's', 'S':
			clock = true
		}
	}
	switch {
	case date || month && !clock:
		return fmtDate
	case clock:
		return fmtTime
	}
	return 0
}

// attr answers the value of the element's attribute by local name.
func attr(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// cell is the cell being read: its attributes and its value's text.
type cell struct {
	col   int // from 0; -1 when the reference is not valid
	typ   string
	style int
	inV   bool
	inIS  bool
	inT   bool
	rph   int
	long  bool
}

// Next returns the next non-empty row, its line the row's number. Cells
// are placed by their reference (missing ones empty).
func (x *xlsxReader) Next() (*Row, error) {
	if x.done {
		return nil, io.EOF
	}
	var row *Row // the row being read
	var c *cell  // the cell being read
	fail := func(col int, reason string) {
		if row.Err == nil {
			name := "#" + strconv.Itoa(col+1)
			if col >= 0 && col < len(x.header) {
				name = x.header[col]
			} else if col < 0 {
				name = ""
			}
			row.Err = &RowError{Line: row.Line, Column: name, Reason: reason}
		}
	}
	for {
		tok, err := x.sheet.token()
		if err == io.EOF {
			if row != nil {
				return nil, fmt.Errorf("line %d: the workbook cannot be read: its sheet is cut short", row.Line)
			}
			x.done = true
			return nil, io.EOF
		} else if err != nil {
			line := x.line + 1
			if row != nil {
				line = row.Line
			}
			return nil, fmt.Errorf("line %d: %w", line, x.partError(err, "its sheet"))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "sheetData":
				x.inData = true
			case "row":
				if !x.inData || row != nil {
					continue
				}
				n := x.line + 1
				if r := attr(t, "r"); r != "" {
					if n, err = strconv.Atoi(r); err != nil || n < 1 || n > maxSheetRows {
						return nil, fmt.Errorf("line %d: the workbook cannot be read: a row number is not valid", x.line+1)
					}
					if n <= x.line {
						return nil, fmt.Errorf("line %d: the workbook cannot be read: its rows are out of order", n)
					}
				}
				x.line = n
				row, c = &Row{Line: n}, nil
				x.cells = x.cells[:0]
			case "c":
				if row == nil {
					continue
				}
				prev := len(x.cells)
				if c != nil {
					prev = c.col + 1
				}
				c = &cell{col: prev, typ: attr(t, "t")}
				if r := attr(t, "r"); r != "" {
					c.col = columnIndex(r)
				}
				if s := attr(t, "s"); s != "" {
					c.style, _ = strconv.Atoi(s)
				}
				x.text = x.text[:0]
			case "v":
				if c != nil {
					c.inV = true
				}
			case "is":
				if c != nil {
					c.inIS = true
				}
			case "t":
				if c != nil && c.inIS && c.rph == 0 {
					c.inT = true
				}
			case "rPh":
				if c != nil {
					c.rph++
				}
			}
		case xml.CharData:
			if c != nil && (c.inV || c.inT) {
				if len(x.text)+len(t) > MaxField {
					c.long = true
				} else {
					x.text = append(x.text, t...)
				}
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "v":
				if c != nil {
					c.inV = false
				}
			case "t":
				if c != nil {
					c.inT = false
				}
			case "is":
				if c != nil {
					c.inIS = false
				}
			case "rPh":
				if c != nil {
					c.rph = max(c.rph-1, 0)
				}
			case "c":
				if c == nil || row.Err != nil {
					continue
				}
				v, reason := x.value(c)
				switch {
				case c.col < 0:
					fail(-1, "a cell reference is not valid")
				case c.col >= MaxColumns:
					fail(c.col, fmt.Sprintf("more than %d columns", MaxColumns))
				case reason != "":
					fail(c.col, reason)
				case len(v) > MaxField:
					fail(c.col, fmt.Sprintf("a field is longer than %d bytes", MaxField))
				case !utf8.ValidString(v):
					fail(c.col, "is not valid UTF-8")
				case v != "":
					for len(x.cells) <= c.col {
						x.cells = append(x.cells, "")
					}
					x.cells[c.col] = v
				}
				c.inV, c.inIS, c.inT = false, false, false
				c.typ, c.style, c.long = "", 0, false
				x.text = x.text[:0]
				// c stays, for the next cell's column when it has no reference.
			case "row":
				if row == nil {
					continue
				}
				if row.Err == nil {
					if len(x.cells) == 0 {
						row, c = nil, nil
						continue
					}
					row.Cells = append([]string(nil), x.cells...)
				}
				return row, nil
			case "sheetData":
				if x.inData && row == nil {
					x.done = true
					return nil, io.EOF
				}
			}
		}
	}
}

// value answers a cell's value as the workbook shows it, or why it has
// none.
func (x *xlsxReader) value(c *cell) (string, string) {
	if c.long {
		return "", fmt.Sprintf("a field is longer than %d bytes", MaxField)
	}
	switch c.typ {
	case "s":
		if len(x.text) == 0 {
			return "", ""
		}
		i, err := strconv.Atoi(strings.TrimSpace(string(x.text)))
		if err != nil || i < 0 || i >= len(x.strEnds) {
			return "", "a shared string index is not valid"
		}
		return x.sharedString(i), ""
	case "inlineStr":
		return string(unescapeOOXML(x.text)), ""
	case "b":
		switch string(x.text) {
		case "1":
			return "TRUE", ""
		case "0":
			return "FALSE", ""
		}
		return string(x.text), ""
	case "str", "e", "d":
		return string(x.text), ""
	}
	return x.number(c.style), ""
}

// number answers the number in x.text as Excel shows it in General (at
// most 15 significant digits), or as a date or time when the cell's style
// has a date or time format.
func (x *xlsxReader) number(style int) string {
	v := x.text
	kind := uint8(0)
	if style >= 0 && style < len(x.dateXf) {
		kind = x.dateXf[style]
	}
	if kind == 0 && len(v) <= 15 && plainInteger(v) {
		return string(v)
	}
	s := string(v)
	if strings.Contains(s, "_") {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if kind != 0 {
		if d, ok := serialTime(f, kind, x.date1904); ok {
			return d
		}
	}
	// As excelize showed a number in General before.
	plain := strconv.FormatFloat(f, 'f', -1, 64)
	if len(plain)-strings.Count(plain, ".") > 15 && !integerWithinPrecision(s) {
		return strconv.FormatFloat(f, 'G', 15, 64)
	}
	return plain
}

// plainInteger reports digits without a needless leading zero.
func plainInteger(v []byte) bool {
	if len(v) == 0 || len(v) > 1 && v[0] == '0' {
		return false
	}
	for _, b := range v {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// integerWithinPrecision reports an integer whose digits past the 15th
// are zeros.
func integerWithinPrecision(s string) bool {
	if strings.ContainsAny(s, ".Ee") {
		return false
	}
	s = strings.TrimLeft(s, "+-0")
	return len(strings.TrimRight(s, "0")) <= 15
}

// serialTime converts a serial date (days since the epoch of the 1900 or
// 1904 date system, the fraction the time of day) to "2006-01-02",
// "2006-01-02T15:04:05", or "15:04:05" for a time of day alone. The 1900
// system counts a 29 February 1900 that did not exist (serial 60), which
// has no date.
func serialTime(f float64, kind uint8, date1904 bool) (string, bool) {
	if math.IsNaN(f) || f < 0 || f >= 2958466 {
		return "", false
	}
	secs := int64(math.Round(f * 86400))
	days, rem := secs/86400, time.Duration(secs%86400)*time.Second
	if days == 0 && (kind == fmtTime || !date1904) {
		if rem == 0 {
			return "", false
		}
		return time.Time{}.Add(rem).Format(time.TimeOnly), true
	}
	var base time.Time
	switch {
	case date1904:
		base = time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
	case days < 60:
		base = time.Date(1899, 12, 31, 0, 0, 0, 0, time.UTC)
	case days == 60:
		return "", false
	default:
		base = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
	}
	t := base.AddDate(0, 0, int(days)).Add(rem)
	if rem == 0 {
		return t.Format(time.DateOnly), true
	}
	return t.Format("2006-01-02T15:04:05"), true
}

// columnIndex answers the column (from 0) of a reference like "B2", or -1
// when it is not valid. Columns past any sheet's last count as the last.
func columnIndex(ref string) int {
	col, i := 0, 0
	for ; i < len(ref); i++ {
		c := ref[i] | 0x20
		if c < 'a' || c > 'z' {
			break
		}
		col = min(col*26+int(c-'a'+1), 1<<20)
	}
	if i == 0 {
		return -1
	}
	for _, c := range ref[i:] {
		if c < '0' || c > '9' {
			return -1
		}
	}
	return col - 1
}

// unescapeOOXML decodes the _xHHHH_ escapes of text in a workbook (a
// character XML cannot hold; _x005F_ is a literal underscore), as excelize
// does; an escape of a surrogate is dropped.
func unescapeOOXML(b []byte) []byte {
	if !bytes.Contains(b, []byte("_x")) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] == '_' && i+7 <= len(b) && b[i+1] == 'x' && b[i+6] == '_' {
			if r, err := strconv.ParseUint(string(b[i+2:i+6]), 16, 32); err == nil {
				if utf8.ValidRune(rune(r)) {
					out = utf8.AppendRune(out, rune(r))
				}
				i += 6
				continue
			}
		}
		out = append(out, b[i])
	}
	return out
}
