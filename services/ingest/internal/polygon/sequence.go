package polygon

// sequences follows the last sequence number of each symbol and event type
// and tells when numbers were skipped. It is owned by one goroutine.
type sequences struct {
	last map[seqKey]int64 // bounded by 2 * maxContracts
}

type seqKey struct {
	symbol string
	ev     string
}

func newSequences() *sequences { return &sequences{last: make(map[seqKey]int64)} }

// next records seq for the symbol and event type and returns the number
// before it and how many numbers lie between them. A first number, a 0 (the
// upstream numbers nothing) and a number not above the last (a replay or a
// new day's numbering) skip nothing.
func (s *sequences) next(symbol, ev string, seq int64) (last, missed int64) {
	if seq <= 0 {
		return 0, 0
	}
	k := seqKey{symbol, ev}
	last, seen := s.last[k]
	if !seen && len(s.last) >= 2*maxContracts {
		clear(s.last)
	}
	s.last[k] = seq
	if !seen || seq <= last+1 {
		return last, 0
	}
	return last, seq - last - 1
}
