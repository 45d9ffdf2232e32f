package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"time"
)

type importProgress struct {
	Done    int    `json:"done,omitempty"`
	Total   int    `json:"total,omitempty"`
	OK      bool   `json:"ok,omitempty"`
	Created int    `json:"created,omitempty"`
	Error   string `json:"error,omitempty"`
	Line    int    `json:"line,omitempty"`
}

// lineError is how an importer says which line of the file is wrong.
type lineError interface{ LineNumber() int }

func (s *Server) importRoutes() {
	s.handle("POST /api/v1/import/{kind}", "Import a CSV file of members or subscriptions, all or nothing; the response streams NDJSON progress then the result",
		reflect.TypeOf(""), reflect.TypeOf(importProgress{}), nil, func(w http.ResponseWriter, r *http.Request) {
			kind := r.PathValue("kind")
			if kind != "members" && kind != "subscriptions" {
				s.fail(w, r, fmt.Errorf("cannot import %q (members or subscriptions): %w", kind, errBadRequest))
				return
			}
			if s.opt.Importer == nil {
				s.fail(w, r, errors.New("no importer configured"))
				return
			}
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			var mu sync.Mutex
			enc := json.NewEncoder(w)
			flusher, _ := w.(http.Flusher)
			emit := func(p importProgress) {
				mu.Lock()
				defer mu.Unlock()
				enc.Encode(p)
				if flusher != nil {
					flusher.Flush()
				}
			}
			last := time.Time{}
			body := http.MaxBytesReader(w, r.Body, 256<<20)
			n, err := s.opt.Importer(r.Context(), kind, callerOf(r).actor, body, func(done, total int) {
				if time.Since(last) > 100*time.Millisecond || done == total {
					last = time.Now()
					emit(importProgress{Done: done, Total: total})
				}
			})
			if err != nil {
				p := importProgress{Error: err.Error()}
				var le lineError
				if errors.As(err, &le) {
					p.Line = le.LineNumber()
				}
				emit(p)
				return
			}
			emit(importProgress{OK: true, Created: n})
		})
}
