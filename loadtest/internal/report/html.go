package report

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"strings"
	"time"

	"github.com/liveflow/liveflow/loadtest/internal/account"
)

// page is what the HTML template renders.
type page struct {
	R       *Result
	Profile string
	Plots   []plotHTML
	Classes []classRow
}

type plotHTML struct {
	Title string
	SVG   template.HTML
}

type classRow struct {
	Name    string
	Clients int
	Latency Percentiles
	Totals  account.Totals
}

// WriteHTML writes the self-contained report: the summary's figures in
// tables and the plots inline, with nothing fetched when it is read.
func WriteHTML(path string, r *Result) error {
	pg := page{R: r, Profile: Profile(&r.Scenario)}
	plots := []struct {
		title string
		draw  func(*Result) (string, error)
		when  bool
	}{
		{"Latency over time", latencyOverTime, len(r.Timeline) > 0},
		{"Latency by percentile", percentiles, len(r.Distribution) > 0},
		{"Throughput", throughput, len(r.Ticks.Series)+len(r.Deliveries.Series) > 0},
		{"CPU by process", cpuOverTime, len(r.Processes) > 0},
		{"Ramp", rampSteps, r.Ramp != nil && len(r.Ramp.Steps) > 0},
	}
	for _, p := range plots {
		if !p.when {
			continue
		}
		s, err := p.draw(r)
		if err != nil {
			return err
		}
		pg.Plots = append(pg.Plots, plotHTML{Title: p.title, SVG: template.HTML(s)})
	}
	for i, name := range []string{"steady", "slow", "resumer"} {
		n := 0
		if i < len(r.Scenario.Classes) {
			n = r.Scenario.Classes[i]
		}
		pg.Classes = append(pg.Classes, classRow{Name: name, Clients: n, Latency: r.Latency[name],
			Totals: r.ByClass[name]})
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, pg); err != nil {
		return fmt.Errorf("report: render HTML: %w", err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"commas":  func(n int64) string { return Commas(n) },
	"int":     func(f float64) int64 { return int64(f) },
	"ms":      func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"pct":     func(v float64) string { return fmt.Sprintf("%.0f%%", v) },
	"mb":      func(v float64) string { return fmt.Sprintf("%.0f MB", v) },
	"verdict": verdict,
	"when":    func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"dur":     func(d Duration) string { return time.Duration(d).String() },
	"join": func(v []int) string {
		s := make([]string, len(v))
		for i, x := range v {
			s[i] = fmt.Sprint(x)
		}
		return strings.Join(s, ", ")
	},
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>liveflow load test {{when .R.Started}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:.25em .8em;text-align:right;border-bottom:1px solid #eee}
th{background:#f6f6f6} td:first-child,th:first-child{text-align:left}
.verdict{font-size:1.3em;font-weight:bold;padding:.4em .8em;display:inline-block;border-radius:4px}
.PASSED{background:#dff0d8;color:#2b542c} .FAILED{background:#f2dede;color:#a94442}
table.kv td{text-align:left} .met{color:#2b542c} .MISSED{color:#a94442;font-weight:bold} .muted{color:#777} svg{max-width:100%;height:auto}
</style></head><body>
{{$r := .R}}
<h1>liveflow load test</h1>
<p class="muted">{{when $r.Started}} to {{when $r.Finished}} &middot; <code>{{$r.Command}}</code></p>
<p><span class="verdict {{if $r.Gate.Passed}}PASSED{{else}}FAILED{{end}}">gate {{if $r.Gate.Passed}}PASSED{{else}}FAILED{{end}}</span></p>
<table>
<tr><th>condition</th><th>measured</th><th>verdict</th></tr>
<tr><td>p99 ingest to client under {{$r.Gate.P99LimitMs}} ms (steady clients)</td><td>{{ms (index $r.Latency "steady").P99}} ms</td><td class="{{verdict $r.Gate.P99Met}}">{{verdict $r.Gate.P99Met}}</td></tr>
<tr><td>no event lost</td><td>{{commas $r.Accounting.Lost}} of {{commas $r.Accounting.Expected}}</td><td class="{{verdict $r.Gate.NoLoss}}">{{verdict $r.Gate.NoLoss}}</td></tr>
<tr><td>no event duplicated</td><td>{{commas $r.Accounting.Duplicated}}</td><td class="{{verdict $r.Gate.NoDuplicates}}">{{verdict $r.Gate.NoDuplicates}}</td></tr>
<tr><td>every client subscribed</td><td>{{$r.Subscribed}} of {{$r.Scenario.Clients}}</td><td class="{{verdict $r.Gate.AllSubscribed}}">{{verdict $r.Gate.AllSubscribed}}</td></tr>
<tr><td>every resume complete</td><td>{{$r.Resumes.Gaps}} gaps, {{$r.Resumes.Failed}} failed</td><td class="{{verdict $r.Gate.NoResumeGaps}}">{{verdict $r.Gate.NoResumeGaps}}</td></tr>
<tr><td>aim: p50 under {{$r.Gate.AimP50Ms}} ms</td><td>{{ms (index $r.Latency "steady").P50}} ms</td><td class="{{verdict $r.Gate.AimP50Met}}">{{verdict $r.Gate.AimP50Met}}</td></tr>
<tr><td>aim: p99 under {{$r.Gate.AimP99Ms}} ms</td><td>{{ms (index $r.Latency "steady").P99}} ms</td><td class="{{verdict $r.Gate.AimP99Met}}">{{verdict $r.Gate.AimP99Met}}</td></tr>
{{with $r.Ramp}}<tr><td>ramp: highest rate held at p99 under {{.LimitMs}} ms</td><td>{{commas (int .Sustained)}} ticks/s</td><td></td></tr>{{end}}
</table>
{{range $r.Notes}}<p><b>Note:</b> {{.}}</p>{{end}}

<h2>Scenario</h2>
<table class="kv">
<tr><td>profile</td><td>{{.Profile}}</td></tr>
<tr><td>target</td><td>{{$r.Target}}</td></tr>
<tr><td>machine</td><td>{{$r.Machine.CPUs}} CPUs ({{$r.Machine.Model}}), {{printf "%.0f" $r.Machine.MemoryGiB}} GiB, Linux {{$r.Machine.Kernel}}, {{$r.Machine.Go}}; load average {{printf "%.2f" $r.Machine.LoadBefore}} before, {{printf "%.2f" $r.Machine.LoadAfter}} after</td></tr>
<tr><td>clients</td><td>{{$r.Scenario.Clients}} ({{join $r.Scenario.Classes}} steady, slow, resuming); watchlists of {{$r.Scenario.Symbols}} underlyings of {{$r.Scenario.Underlyings}}, drawn with weight (events)^{{$r.Scenario.WatchSkew}}</td></tr>
<tr><td>slow clients</td><td>pause {{dur $r.Scenario.SlowDelay}} after every frame</td></tr>
<tr><td>resuming clients</td><td>leave every ~{{dur $r.Scenario.ResumeEvery}}, stay away {{dur $r.Scenario.ResumePause}}, come back with resume_from</td></tr>
<tr><td>filters</td><td>{{range $r.Scenario.Mix}}{{.Clients}} &times; {{.Filter}}<br>{{end}}</td></tr>
<tr><td>estimated deliveries</td><td>{{commas (int $r.Scenario.Estimate)}}/s on average</td></tr>
</table>

<h2>Throughput</h2>
<table>
<tr><th></th><th>total</th><th>per second</th><th>peak second</th></tr>
<tr><td>ticks sent (read back from Kafka)</td><td>{{commas $r.Ticks.Sent}}</td><td>{{commas (int $r.Ticks.PerSecond)}}</td><td>{{commas $r.Ticks.Peak}}</td></tr>
<tr><td>events delivered to clients</td><td>{{commas $r.Deliveries.Total}}</td><td>{{commas (int $r.Deliveries.PerSecond)}}</td><td>{{commas $r.Deliveries.Peak}}</td></tr>
</table>
<p class="muted">{{printf "%.1f" $r.Ticks.Seconds}} s of sending; {{$r.Ticks.Events}} events scored in the window; {{$r.Ticks.Undecodable}} undecodable ticks.</p>

<h2>Latency, ingest reading a tick to a client reading its event (ms)</h2>
<table>
<tr><th>clients</th><th>number</th><th>events</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>mean</th></tr>
{{range .Classes}}<tr><td>{{.Name}}</td><td>{{.Clients}}</td><td>{{commas .Latency.Count}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P90}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Latency.P999}}</td><td>{{ms .Latency.Max}}</td><td>{{ms .Latency.Mean}}</td></tr>
{{end}}</table>
<p class="muted">Events of the window that the client's filter wants, as they arrived live; events replayed after a resume are not in it.</p>

<h2>Where the time went: the services' own histograms over the window</h2>
<table>
<tr><th>stage</th><th>what</th><th>observations</th><th>p50</th><th>p99</th><th>mean</th></tr>
{{range $r.Stages}}<tr><td>{{.Name}}</td><td>{{.What}}</td><td>{{commas (int .Count)}}</td><td>{{ms .P50}} {{.Unit}}</td><td>{{ms .P99}} {{.Unit}}</td><td>{{ms .Mean}} {{.Unit}}</td></tr>
{{end}}<tr><td>ingest to client</td><td>the clients' own measurement (steady clients)</td><td>{{commas (index $r.Latency "steady").Count}}</td><td>{{ms (index $r.Latency "steady").P50}} ms</td><td>{{ms (index $r.Latency "steady").P99}} ms</td><td>{{ms (index $r.Latency "steady").Mean}} ms</td></tr>
</table>
<p class="muted">Prometheus histograms have coarse buckets (powers of two); their quantiles are interpolated within a bucket.</p>

{{range .Plots}}<h2>{{.Title}}</h2>
{{.SVG}}
{{end}}

<h2>Accounting</h2>
<p class="muted">The ticks were read back from Kafka and scored as the scorer does; each client's filter says which of the resulting events it had to receive.</p>
<table>
<tr><th>clients</th><th>accounted</th><th>expected</th><th>delivered</th><th>lost</th><th>missing after lagged notices</th><th>duplicated</th><th>unwanted</th><th>replayed on resume</th></tr>
{{range .Classes}}<tr><td>{{.Name}}</td><td>{{.Totals.Clients}}</td><td>{{commas .Totals.Expected}}</td><td>{{commas .Totals.Delivered}}</td><td>{{commas .Totals.Lost}}</td><td>{{commas .Totals.LostLagged}}</td><td>{{commas .Totals.Duplicated}}</td><td>{{commas .Totals.Unwanted}}</td><td>{{commas .Totals.Replayed}}</td></tr>
{{end}}{{with $r.Accounting}}<tr><th>all</th><th>{{.Clients}}</th><th>{{commas .Expected}}</th><th>{{commas .Delivered}}</th><th>{{commas .Lost}}</th><th>{{commas .LostLagged}}</th><th>{{commas .Duplicated}}</th><th>{{commas .Unwanted}}</th><th>{{commas .Replayed}}</th></tr>{{end}}
</table>
<p>{{$r.Accounting.ClientsWithLoss}} clients lost events and {{$r.Accounting.ClientsWithDups}} received duplicates. Arrivals outside the window: {{commas $r.Accounting.Before}} keyed before it, {{commas $r.Accounting.Beyond}} after it; {{$r.Foreign}} events lacked a key or ingest_ts.
Lagged notices: {{$r.Lagged.Notices}}, saying {{commas $r.Lagged.Dropped}} events were dropped.
Resumes: {{commas $r.Resumes.Replies}} replies, {{$r.Resumes.Gaps}} gaps, {{$r.Resumes.Failed}} resumers could not reconnect, {{commas $r.Resumes.Replayed}} events replayed.</p>
{{if $r.Lost}}<p>Lost, for example: {{range $r.Lost}}<code>{{.}}</code> {{end}}</p>{{end}}

<h2>Processes over the window</h2>
<table>
<tr><th>process</th><th>read from</th><th>CPU seconds</th><th>average</th><th>peak</th><th>peak memory</th></tr>
{{range $r.Processes}}<tr><td>{{.Name}}</td><td>{{.How}}</td><td>{{printf "%.1f" .CPUSeconds}}</td><td>{{pct .AvgPct}} of a core</td><td>{{pct .PeakPct}}</td><td>{{mb .PeakRSSMB}}</td></tr>
{{end}}<tr><th>machine</th><th></th><th></th><th>{{pct $r.Busy.AvgPct}} of all cores</th><th></th><th></th></tr>
</table>

<h2>Services' counters over the window</h2>
<table>
{{range $k, $v := $r.Counters}}<tr><td>{{$k}}</td><td>{{commas (int $v)}}</td></tr>
{{end}}</table>

<h2>Connection failures and closes</h2>
{{if $r.Failures}}<table><tr><th>reason</th><th>count</th><th>example</th></tr>
{{range $r.Failures}}<tr><td>{{.Reason}}</td><td>{{.Count}}</td><td>{{.Example}}</td></tr>
{{end}}</table>{{else}}<p>None.</p>{{end}}

{{with $r.Ramp}}<h2>Ramp steps</h2>
<table><tr><th>asked, ticks/s</th><th>sent, ticks/s</th><th>events</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>p99 under {{.LimitMs}} ms</th></tr>
{{range .Steps}}<tr><td>{{commas (int .Rate)}}</td><td>{{commas (int .Sent)}}</td><td>{{commas .Latency.Count}}</td><td>{{ms .Latency.P50}}</td><td>{{ms .Latency.P99}}</td><td>{{ms .Latency.Max}}</td><td>{{if .Held}}held{{else}}NOT held{{end}}</td></tr>
{{end}}</table>{{end}}
</body></html>`
