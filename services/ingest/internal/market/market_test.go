package market

import (
	"testing"
	"time"
)

func ny(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, NewYork)
	if err != nil {
		panic(err)
	}
	return t
}

func TestRegularHours(t *testing.T) {
	cases := []struct {
		at   time.Time
		open bool
	}{
		{ny("2026-12-02 09:29"), false},
		{ny("2026-12-02 09:30"), true},
		{ny("2026-12-02 12:00"), true},
		{ny("2026-12-02 15:59"), true},
		{ny("2026-12-02 16:00"), false},
		{ny("2026-12-05 12:00"), false}, // Saturday
		{ny("2026-12-06 12:00"), false}, // Sunday
		// Summer time: 09:30 New York is 13:30 UTC, in winter 14:30 UTC.
		{time.Date(2026, 7, 1, 13, 30, 0, 0, time.UTC), true},
		{time.Date(2026, 12, 2, 13, 30, 0, 0, time.UTC), false},
		{time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		if got := RegularHours(c.at); got != c.open {
			t.Errorf("RegularHours(%s) = %v, want %v", c.at, got, c.open)
		}
	}
}

func TestNextWeekdayAt(t *testing.T) {
	cases := []struct{ from, want time.Time }{
		{ny("2026-12-02 08:00"), ny("2026-12-02 09:00")}, // Wednesday, before
		{ny("2026-12-02 09:00"), ny("2026-12-03 09:00")}, // exactly then: the next day
		{ny("2026-12-04 10:00"), ny("2026-12-07 09:00")}, // Friday after: Monday
		{ny("2026-12-05 08:00"), ny("2026-12-07 09:00")}, // Saturday
		{ny("2027-03-12 10:00"), ny("2027-03-15 09:00")}, // over the change to summer time
	}
	for _, c := range cases {
		if got := NextWeekdayAt(c.from, 9, 0); !got.Equal(c.want) {
			t.Errorf("NextWeekdayAt(%s) = %s, want %s", c.from, got, c.want)
		}
	}
}
