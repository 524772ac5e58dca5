// Package market knows the calendar of US listed options: the regular
// session and the time zone it is kept in.
package market

import (
	"time"
	// The exchanges' time zone must resolve on machines without a zone
	// database, such as minimal containers.
	_ "time/tzdata"
)

// NewYork is the time zone of the US options exchanges.
var NewYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("market: " + err.Error()) // the embedded zone database has it
	}
	return loc
}

// The regular session of US listed options, New York time.
const (
	openMinute  = 9*60 + 30
	closeMinute = 16 * 60
)

// RegularHours reports whether t falls in the regular session of US listed
// options: 09:30 to 16:00 New York time, Monday to Friday.
//
// TODO: exchange holidays and early closes are not known, so a holiday on a
// weekday counts as a session; a calendar needs a yearly data source.
func RegularHours(t time.Time) bool {
	t = t.In(NewYork)
	if !weekday(t) {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= openMinute && m < closeMinute
}

// NextWeekdayAt returns the first moment after t that is hour:minute New York
// time on a Monday to Friday.
func NextWeekdayAt(t time.Time, hour, minute int) time.Time {
	ny := t.In(NewYork)
	y, mo, d := ny.Date()
	for i := 0; ; i++ {
		at := time.Date(y, mo, d+i, hour, minute, 0, 0, NewYork)
		if at.After(t) && weekday(at) {
			return at
		}
	}
}

func weekday(t time.Time) bool {
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}
