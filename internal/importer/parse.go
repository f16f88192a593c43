// Package importer reads contact files (CSV and XLSX) row by row, maps
// their columns onto field definitions and feeds the store a chunk at a
// time, so a file of any size imports in bounded memory.
package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Limits on what a file may hold. A file beyond them gets an error naming
// the line, never an unbounded buffer.
const (
	MaxColumns = 1000
	MaxField   = 1 << 20 // bytes in one cell
	MaxXLSX    = 64 << 20
	sniffBytes = 64 << 10
)

// RowError is a problem with one row: its line, the column (by header
// name, when known) and the reason. It never holds the cell's value, which
// may be personal data.
type RowError struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Reason string `json:"reason"`
}

func (e *RowError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d, column %q: %s", e.Line, e.Column, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Row is one data row: the line it starts on (the row number in a
// workbook) and its cells, or the error that makes it unreadable.
type Row struct {
	Line  int
	Cells []string
	Err   *RowError
}

// Reader yields the header and then the rows of a file.
type Reader interface {
	// Header returns the column names of the first row.
	Header() []string
	// Next returns the next row, or io.EOF after the last. A row it
	// cannot read comes with Err set; the reader goes on after it. Any
	// other error is fatal and names the line.
	Next() (*Row, error)
	// Close releases what the reader holds.
	Close() error
}

// Open recognises the format by its first bytes (an XLSX workbook is a
// ZIP archive) and returns a reader positioned after the header row. A
// workbook in a file (an io.ReaderAt that seeks) is read where it lies;
// from a stream, its packed bytes are held in memory.
func Open(r io.Reader) (Reader, error) {
	if f, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		if x, err := openXLSXAt(f); err != nil {
			return nil, err
		} else if x != nil {
			return x, nil
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	if bytes.Equal(magic, []byte("PK\x03\x04")) {
		return openXLSX(br)
	}
	return openCSV(br)
}

// csvReader is a CSV reader of RFC 4180 with any one-byte delimiter, that
// counts lines and bounds every field and record.
type csvReader struct {
	r      *bufio.Reader
	comma  byte
	line   int // the physical line the reader is on, from 1
	header []string
	buf    []byte
	cells  []string
	eof    bool
}

func openCSV(br *bufio.Reader) (*csvReader, error) {
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")):
		br.Discard(3)
	case bytes.HasPrefix(head, []byte("\xFF\xFE")), bytes.HasPrefix(head, []byte("\xFE\xFF")):
		return nil, errors.New("line 1: the file is UTF-16; save it as UTF-8")
	}
	c := &csvReader{r: br, comma: sniff(br), line: 1}
	row, err := c.Next()
	if err == io.EOF {
		return nil, errors.New("line 1: the file is empty; the first row must name the columns")
	} else if err != nil {
		return nil, err
	}
	if row.Err != nil {
		return nil, fmt.Errorf("the header row: %w", row.Err)
	}
	c.header = append([]string(nil), row.Cells...)
	return c, nil
}

// sniff picks the delimiter that occurs most often outside quotes on the
// first line: comma, semicolon, tab or pipe; comma when none does.
func sniff(br *bufio.Reader) byte {
	peek, _ := br.Peek(sniffBytes)
	counts := map[byte]int{}
	quoted := false
	for _, b := range peek {
		if b == '"' {
			quoted = !quoted
		} else if !quoted && (b == '\n' || b == '\r') {
			break
		} else if !quoted {
			counts[b]++
		}
	}
	best := byte(',')
	for _, d := range []byte{',', ';', '\t', '|'} {
		if counts[d] > counts[best] {
			best = d
		}
	}
	return best
}

func (c *csvReader) Header() []string { return c.header }
func (c *csvReader) Close() error     { return nil }

// Next reads one record. Empty lines are skipped.
func (c *csvReader) Next() (*Row, error) {
	for {
		if c.eof {
			return nil, io.EOF
		}
		start := c.line
		row := &Row{Line: start}
		c.cells = c.cells[:0]
		empty, err := c.record(row)
		if err != nil {
			return nil, err
		}
		if empty && row.Err == nil {
			continue
		}
		if row.Err == nil {
			row.Cells = append([]string(nil), c.cells...)
		}
		return row, nil
	}
}

// record reads the fields of one record into c.cells. A problem with the
// row is set on row.Err and the rest of the record is read and dropped, so
// the next call starts at the next record. empty reports a blank line.
func (c *csvReader) record(row *Row) (empty bool, err error) {
	column := 0
	fail := func(reason string) {
		if row.Err == nil {
			row.Err = &RowError{Line: row.Line, Column: c.columnName(column), Reason: reason}
		}
	}
	for {
		c.buf = c.buf[:0]
		tooLong := false
		add := func(b byte) {
			if len(c.buf) >= MaxField {
				tooLong = true
				return
			}
			c.buf = append(c.buf, b)
		}
		b, err := c.r.ReadByte()
		if err == io.EOF {
			c.eof = true
			return column == 0, nil
		} else if err != nil {
			return false, fmt.Errorf("line %d: %w", c.line, err)
		}
		if column == 0 && (b == '\n' || b == '\r') {
			c.endLine(b)
			return true, nil
		}
		end := byte(0) // what ended the field: the delimiter, '\n', or 0 for EOF
		if b == '"' {
			for {
				b, err = c.r.ReadByte()
				if err == io.EOF {
					return false, fmt.Errorf("line %d: a quoted field is not closed before the end of the file", row.Line)
				} else if err != nil {
					return false, fmt.Errorf("line %d: %w", c.line, err)
				}
				if b == '"' {
					if next, _ := c.r.Peek(1); len(next) == 1 && next[0] == '"' {
						c.r.ReadByte()
						add('"')
						continue
					}
					break
				}
				if b == '\n' {
					c.line++
				}
				add(b)
			}
			// After the closing quote: the delimiter, the end of the line,
			// or stray text, which is kept as a careless writer meant it.
			for {
				b, err = c.r.ReadByte()
				if err == io.EOF {
					break
				} else if err != nil {
					return false, fmt.Errorf("line %d: %w", c.line, err)
				}
				if b == c.comma || b == '\n' || b == '\r' {
					end = b
					break
				}
				add(b)
			}
		} else {
			for {
				if b == c.comma || b == '\n' || b == '\r' {
					end = b
					break
				}
				add(b)
				b, err = c.r.ReadByte()
				if err == io.EOF {
					break
				} else if err != nil {
					return false, fmt.Errorf("line %d: %w", c.line, err)
				}
			}
		}
		switch {
		case tooLong:
			fail(fmt.Sprintf("a field is longer than %d bytes", MaxField))
		case !utf8.Valid(c.buf):
			fail("is not valid UTF-8; save the file as UTF-8")
		case column >= MaxColumns:
			fail(fmt.Sprintf("more than %d columns", MaxColumns))
		case row.Err == nil:
			c.cells = append(c.cells, string(c.buf))
		}
		column++
		if end == c.comma {
			continue
		}
		if end == '\n' || end == '\r' {
			c.endLine(end)
		} else {
			c.eof = true
		}
		return false, nil
	}
}

// endLine counts a line ended by b, taking the '\n' of a CRLF with it.
func (c *csvReader) endLine(b byte) {
	if b == '\r' {
		if next, _ := c.r.Peek(1); len(next) == 1 && next[0] == '\n' {
			c.r.ReadByte()
		}
	}
	c.line++
}

// columnName names column i by its header, or by its number before the
// header is read or past its end.
func (c *csvReader) columnName(i int) string {
	if i < len(c.header) {
		return c.header[i]
	}
	return "#" + strconv.Itoa(i+1)
}
