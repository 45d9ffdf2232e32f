package store

import (
	"fmt"
	"time"
)

// tsCol scans a timestamp from either engine: PostgreSQL hands back a
// time.Time, SQLite the text written by sqliteDialect.ts.
type tsCol struct {
	T     time.Time
	Valid bool
}

func (c *tsCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		c.Valid = false
		return nil
	case time.Time:
		c.T, c.Valid = v.UTC(), true
		return nil
	case string:
		return c.parse(v)
	case []byte:
		return c.parse(string(v))
	}
	return fmt.Errorf("timestamp column holds %T", src)
}

func (c *tsCol) parse(s string) error {
	t, err := time.Parse(sqliteTime, s)
	if err != nil {
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("timestamp %q: %w", s, err)
		}
	}
	c.T, c.Valid = t.UTC(), true
	return nil
}

func (c tsCol) ptr() *time.Time {
	if !c.Valid {
		return nil
	}
	t := c.T
	return &t
}
