// Package csvimport reads members and subscriptions from the CSV files
// people export from their spreadsheets (or from re2o, Coin, a wiki table)
// and creates them in the registry, one file per transaction: a file lands
// whole or not at all, and every error names its line.
package csvimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// LineError is what goes wrong on one line of a file; Err is usually a
// *registry.ValidationError naming the column.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// maxErrors bounds the bad lines one import reports: enough to fix a file
// in one go, not a wall of text when a whole column is wrong.
const maxErrors = 20

// LineErrors are the bad lines of a file, in line order; errors.As finds
// the first *LineError.
type LineErrors struct {
	Errs []*LineError
	// More says lines after the last one reported were not checked.
	More bool
}

func (e *LineErrors) Error() string {
	lines := make([]string, len(e.Errs))
	for i, le := range e.Errs {
		lines[i] = le.Error()
	}
	msg := strings.Join(lines, "\n")
	if e.More {
		msg += fmt.Sprintf("\n(the lines after line %d were not checked: only the first %d errors are reported)", e.Errs[len(e.Errs)-1].Line, maxErrors)
	}
	return msg
}

func (e *LineErrors) Unwrap() []error {
	out := make([]error, len(e.Errs))
	for i, le := range e.Errs {
		out[i] = le
	}
	return out
}

// badLines collects the bad lines of a file as they are checked in order.
type badLines struct{ LineErrors }

// add records a *LineError (or any error, as is), up to maxErrors.
func (b *badLines) add(err error) {
	var le *LineError
	if !errors.As(err, &le) {
		le = &LineError{Err: err}
	}
	b.Errs = append(b.Errs, le)
}

// full says maxErrors were found: the rest of the file is not checked.
func (b *badLines) full() bool {
	if len(b.Errs) >= maxErrors {
		b.More = true
		return true
	}
	return false
}

// err is nil, the one bad line, or all of them.
func (b *badLines) err() error {
	switch {
	case len(b.Errs) == 0:
		return nil
	case len(b.Errs) == 1:
		return b.Errs[0]
	}
	return &b.LineErrors
}

// maxInput bounds what is read into memory: far above any association's
// member list, far below what would hurt the daemon.
const maxInput = 256 << 20

// row is one data record: its line in the file and its cells by column.
type row struct {
	line  int
	cells []string
}

// table is a parsed file: the columns the header names, and the rows.
type table struct {
	cols map[string]int
	rows []row
}

// get returns the trimmed cell of a column, "" when the column is absent or
// the row is short (spreadsheets drop trailing empty cells).
func (t *table) get(r row, col string) string {
	return strings.TrimSpace(t.raw(r, col))
}

// raw returns a cell as written (passwords keep their spaces).
func (t *table) raw(r row, col string) string {
	i, ok := t.cols[col]
	if !ok || i >= len(r.cells) {
		return ""
	}
	return r.cells[i]
}

func (t *table) has(col string) bool { _, ok := t.cols[col]; return ok }

var bom = []byte("\xef\xbb\xbf")

// readTable reads a whole CSV file: UTF-8 with or without a byte-order
// mark, ',' ';' or tab separated (French spreadsheets write ';'), LF or
// CRLF. The header row names the columns, in any order; a column outside
// known, a repeated column or a missing required one is an error.
func readTable(r io.Reader, known, required []string) (*table, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("file is larger than %d MiB: split it", maxInput>>20)
	}
	data = bytes.TrimPrefix(data, bom)
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &LineError{Line: 1, Err: errors.New("the file is empty: the first line must name the columns")}
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comma = separator(data)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, csvError(err)
	}
	line, _ := cr.FieldPos(0)
	if err := checkUTF8(line, header); err != nil {
		return nil, err
	}
	t := &table{cols: make(map[string]int, len(header))}
	isKnown := make(map[string]bool, len(known))
	for _, k := range known {
		isKnown[k] = true
	}
	var unknown []string
	for i, h := range header {
		name := columnName(h)
		if name == "" {
			// An unnamed column is fine as long as it stays empty;
			// spreadsheets add them when a cell past the end was touched.
			continue
		}
		if !isKnown[name] {
			unknown = append(unknown, fmt.Sprintf("%q", strings.TrimSpace(h)))
			continue
		}
		if _, dup := t.cols[name]; dup {
			return nil, &LineError{Line: line, Err: fmt.Errorf("column %q appears twice", name)}
		}
		t.cols[name] = i
	}
	if len(unknown) > 0 {
		return nil, &LineError{Line: line, Err: fmt.Errorf("unknown column%s %s (known columns: %s)",
			plural(len(unknown)), strings.Join(unknown, ", "), strings.Join(known, ", "))}
	}
	for _, c := range required {
		if !t.has(c) {
			return nil, &LineError{Line: line, Err: fmt.Errorf("column %q is missing (the header has: %s)", c, strings.Join(header, ", "))}
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := cr.FieldPos(0)
		if err := checkUTF8(line, rec); err != nil {
			return nil, err
		}
		if blank(rec) {
			continue
		}
		if len(rec) > len(header) {
			for _, extra := range rec[len(header):] {
				if strings.TrimSpace(extra) != "" {
					return nil, &LineError{Line: line, Err: fmt.Errorf("%d fields but the header names %d columns (a separator inside a value needs quotes)", len(rec), len(header))}
				}
			}
		}
		for i, cell := range rec {
			if i < len(header) && columnName(header[i]) == "" && strings.TrimSpace(cell) != "" {
				return nil, &LineError{Line: line, Err: fmt.Errorf("column %d has a value but no name in the header", i+1)}
			}
		}
		t.rows = append(t.rows, row{line: line, cells: rec})
	}
	return t, nil
}

// columnName normalises a header cell: "Membership Start" and
// "membership-start" both name membership_start.
func columnName(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

// separator guesses the field separator from the header line: whichever of
// ',', ';' and tab occurs most outside quotes.
func separator(data []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range data {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		counts[c]++
	}
	best, n := byte(','), counts[',']
	for _, c := range []byte{';', '\t'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return rune(best)
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		line := pe.Line
		if line == 0 {
			line = pe.StartLine
		}
		msg := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			msg += fmt.Sprintf(" (at character %d; a value with quotes must be wholly quoted, its quotes doubled)", pe.Column)
		}
		if pe.StartLine != 0 && pe.StartLine != line {
			msg += fmt.Sprintf(" (in the record starting on line %d)", pe.StartLine)
		}
		return &LineError{Line: line, Err: errors.New(msg)}
	}
	return fmt.Errorf("read CSV: %w", err)
}

func checkUTF8(line int, rec []string) error {
	for i, f := range rec {
		if !utf8.ValidString(f) {
			return &LineError{Line: line, Err: fmt.Errorf("field %d is not UTF-8 (export the file as \"CSV UTF-8\", or convert it with iconv -f latin1 -t utf-8)", i+1)}
		}
	}
	return nil
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// dupes finds a value already seen on an earlier line of the file.
type dupes struct {
	field string
	seen  map[string]int
}

func newDupes(field string) *dupes { return &dupes{field: field, seen: map[string]int{}} }

// check records key (already normalised) from line; shown is what the
// message quotes.
func (d *dupes) check(line int, key, shown string) error {
	if key == "" {
		return nil
	}
	if first, ok := d.seen[key]; ok {
		return &LineError{Line: line, Err: invalidf(d.field, "%q already appears on line %d", shown, first)}
	}
	d.seen[key] = line
	return nil
}

// progressEvery says how often to report: at least every 1% and every 200
// rows.
func progressEvery(total int) int {
	return max(1, min(200, total/100))
}

// progressReporter reports to fn at least every 1% and every 200 rows, and at the
// end.
type progressReporter struct {
	fn          func(done, total int)
	done, total int
	every       int
}

func newProgress(fn func(done, total int), total int) *progressReporter {
	p := &progressReporter{fn: fn, total: total, every: progressEvery(total)}
	if fn != nil {
		fn(0, total)
	}
	return p
}

func (p *progressReporter) step() {
	p.done++
	if p.fn != nil && (p.done%p.every == 0 || p.done == p.total) {
		p.fn(p.done, p.total)
	}
}
