package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ImportError is an import the daemon refused: nothing from the file was
// kept. Line is the file's line at fault, 0 when the error is not about one.
type ImportError struct {
	Line    int
	Message string
}

func (e *ImportError) Error() string {
	if e.Line > 0 && !strings.HasPrefix(e.Message, "line ") {
		return "line " + strconv.Itoa(e.Line) + ": " + e.Message
	}
	return e.Message
}

// importLine is one NDJSON line of the import stream: progress, or the
// final result (ok or error).
type importLine struct {
	Done    int    `json:"done"`
	Total   int    `json:"total"`
	OK      bool   `json:"ok"`
	Created int    `json:"created"`
	Error   string `json:"error"`
	Line    int    `json:"line"`
}

// Import sends a CSV file of kind ("members" or "subscriptions") and follows
// the daemon's progress, calling progress (if not nil) for each update. The
// import is all or nothing: on error nothing was created.
func (c *Client) Import(ctx context.Context, kind string, r io.Reader, progress func(done, total int)) (created int, err error) {
	path := "/api/v1/import/" + kind
	resp, err := c.send(ctx, http.MethodPost, path, nil, r, "text/csv")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return readImport(resp.Body, progress)
}

// readImport reads the NDJSON stream up to its final line.
func readImport(r io.Reader, progress func(done, total int)) (int, error) {
	dec := json.NewDecoder(r)
	var last importLine
	for {
		var l importLine
		if err := dec.Decode(&l); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				// The daemon went away mid-import; it rolls back an import
				// it did not finish, but only it can say, so say what we know.
				return 0, fmt.Errorf("import: the daemon closed the connection before the result (after %d of %d lines); check its log", last.Done, last.Total)
			}
			return 0, fmt.Errorf("import: reading the daemon's progress: %w", err)
		}
		switch {
		case l.Error != "":
			return 0, &ImportError{Line: l.Line, Message: l.Error}
		case l.OK:
			return l.Created, nil
		}
		last = l
		if progress != nil {
			progress(l.Done, l.Total)
		}
	}
}
