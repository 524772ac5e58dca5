package polygon

import (
	"fmt"
	"strings"

	"github.com/liveflow/liveflow/pkg/occ"
)

// All is the subscription to every contract's trades and quotes.
const All = "*"

// Params turns what to follow into the vendor's subscription params, trades
// and quotes of each: "*" follows every contract; an option symbol in any
// form pkg/occ accepts follows that contract; an underlying root (1 to 6
// letters or digits) follows its contracts through the prefix pattern
// "O:ROOT*".
func Params(follow []string) ([]string, error) {
	var params []string
	seen := make(map[string]bool)
	for _, f := range follow {
		f = strings.TrimSpace(f)
		var target string
		switch {
		case f == All:
			target = All
		case isRoot(f):
			target = "O:" + f + "*"
		default:
			c, err := occ.Parse(f)
			if err != nil {
				return nil, fmt.Errorf("polygon: subscription %q is neither *, an underlying nor an option symbol",
					f)
			}
			target = "O:" + strings.ReplaceAll(c.String(), " ", "")
		}
		if !seen[target] {
			seen[target] = true
			params = append(params, evTrade+"."+target, evQuote+"."+target)
		}
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("polygon: nothing to subscribe to")
	}
	if seen[All] && len(seen) > 1 {
		return nil, fmt.Errorf("polygon: subscription * already follows every contract; give it alone")
	}
	return params, nil
}

func isRoot(s string) bool {
	if len(s) < 1 || len(s) > 6 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < 'A' || s[i] > 'Z') && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// maxParamsPerMessage bounds one subscribe message, whose size the vendor
// limits; longer lists go in several messages.
const maxParamsPerMessage = 500

// chunks splits params into the comma-joined lists of subscribe messages.
func chunks(params []string) []string {
	var out []string
	for len(params) > 0 {
		n := min(len(params), maxParamsPerMessage)
		out = append(out, strings.Join(params[:n], ","))
		params = params[n:]
	}
	return out
}
