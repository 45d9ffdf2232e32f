package registry

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in cents, so monthly costs add up exactly.
type Money int64

// ParseMoney reads "12", "12.5" or "12,50" (the seeds write French).
func ParseMoney(s string) (Money, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	s = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(s, "€")), "EUR")
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, fmt.Errorf("%q has more than two decimals", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || whole == "" {
		return 0, fmt.Errorf("%q is not an amount", s)
	}
	return Money(n), nil
}

func (m Money) String() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}

// MarshalJSON writes the amount as a decimal string to avoid float rounding.
func (m Money) MarshalJSON() ([]byte, error) { return json.Marshal(m.String()) }

// UnmarshalJSON accepts "12.50" or 12.5.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}
