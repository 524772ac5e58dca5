package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plots are drawn with gonum/plot into SVG, which the HTML report holds
// inline: the report needs nothing from the network to be read.

// plotWidth and plotHeight are the size of every plot.
const (
	plotWidth  = 9 * vg.Inch
	plotHeight = 3.6 * vg.Inch
)

// palette gives each series of a plot its colour, in order.
var palette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, // blue
	color.RGBA{0xff, 0x7f, 0x0e, 0xff}, // orange
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, // red
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, // green
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, // purple
	color.RGBA{0x8c, 0x56, 0x4b, 0xff}, // brown
	color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, // grey
	color.RGBA{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// minMs is the floor of latency axes, which are logarithmic.
const minMs = 0.01

// newPlot returns a plot with the report's look.
func newPlot(title, x, y string) *plot.Plot {
	plot.DefaultFont = font.Font{Typeface: "Liberation", Variant: "Sans"}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// addLine adds a series in the i-th colour.
func addLine(p *plot.Plot, i int, name string, pts plotter.XYs, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return fmt.Errorf("report: plot %q: %w", name, err)
	}
	l.Color = palette[i%len(palette)]
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// svg renders a plot.
func svg(p *plot.Plot) (string, error) {
	c := vgsvg.New(plotWidth, plotHeight)
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("report: render plot: %w", err)
	}
	// Drop the XML declaration: the SVG goes inside HTML.
	out := b.Bytes()
	if i := bytes.Index(out, []byte("<svg")); i > 0 {
		out = out[i:]
	}
	return string(out), nil
}

// logMs sets a logarithmic latency axis with readable ticks.
func logMs(a *plot.Axis, hi float64) {
	a.Scale = plot.LogScale{}
	a.Min = minMs
	a.Max = math.Max(hi*1.5, 1)
	var ticks []plot.Tick
	for _, v := range []float64{0.01, 0.1, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000, 60000} {
		if v >= a.Min && v <= a.Max {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	a.Tick.Marker = plot.ConstantTicks(ticks)
}

// floorMs keeps a latency on a logarithmic axis.
func floorMs(v float64) float64 { return math.Max(v, minMs) }

// latencyOverTime plots the steady clients' latency per second of ingest
// time, with the gate and the aim as dashed lines.
func latencyOverTime(r *Result) (string, error) {
	p := newPlot("Latency over time (steady clients, by second of ingest time)",
		"seconds since ingest started", "ms, ingest to client (log)")
	var p50, p90, p99, mx plotter.XYs
	hi := 1.0
	for _, s := range r.Timeline {
		x := float64(s.Second)
		p50 = append(p50, plotter.XY{X: x, Y: floorMs(s.P50)})
		p90 = append(p90, plotter.XY{X: x, Y: floorMs(s.P90)})
		p99 = append(p99, plotter.XY{X: x, Y: floorMs(s.P99)})
		mx = append(mx, plotter.XY{X: x, Y: floorMs(s.Max)})
		hi = math.Max(hi, s.Max)
	}
	hi = math.Max(hi, r.Gate.P99LimitMs)
	logMs(&p.Y, hi)
	for i, s := range []struct {
		name string
		pts  plotter.XYs
	}{{"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", mx}} {
		if err := addLine(p, i, s.name, s.pts, false); err != nil {
			return "", err
		}
	}
	if len(r.Timeline) > 0 {
		last := float64(r.Timeline[len(r.Timeline)-1].Second)
		flat := func(v float64) plotter.XYs { return plotter.XYs{{X: 0, Y: v}, {X: last, Y: v}} }
		if err := addLine(p, 2, fmt.Sprintf("gate p99 %g ms", r.Gate.P99LimitMs), flat(r.Gate.P99LimitMs), true); err != nil {
			return "", err
		}
		if err := addLine(p, 3, fmt.Sprintf("aim p99 %g ms", r.Gate.AimP99Ms), flat(r.Gate.AimP99Ms), true); err != nil {
			return "", err
		}
	}
	return svg(p)
}

// throughput plots ticks sent and events delivered per second.
func throughput(r *Result) (string, error) {
	p := newPlot("Throughput", "seconds since ingest started", "per second")
	series := func(v []int64) plotter.XYs {
		pts := make(plotter.XYs, len(v))
		for i, n := range v {
			pts[i] = plotter.XY{X: float64(i), Y: float64(n)}
		}
		return pts
	}
	p.Y.Min = 0
	if err := addLine(p, 0, "ticks sent (by ingest time)", series(r.Ticks.Series), false); err != nil {
		return "", err
	}
	if err := addLine(p, 1, "events delivered (by receipt)", series(r.Deliveries.Series), false); err != nil {
		return "", err
	}
	return svg(p)
}

// nines is the x of a percentile on a percentile plot: the number of nines,
// so that 90, 99 and 99.9 lie evenly apart.
func nines(pct float64) float64 {
	return math.Log10(100 / math.Max(100-pct, 1e-4))
}

// percentiles plots the latency distribution of each client class.
func percentiles(r *Result) (string, error) {
	p := newPlot("Latency by percentile", "percentile", "ms, ingest to client (log)")
	hi := 1.0
	for i, name := range []string{"steady", "slow", "resumer"} {
		var pts plotter.XYs
		for _, d := range r.Distribution[name] {
			if d.Percentile >= 100 {
				continue
			}
			pts = append(pts, plotter.XY{X: nines(d.Percentile), Y: floorMs(d.Ms)})
			hi = math.Max(hi, d.Ms)
		}
		if err := addLine(p, i, name, pts, false); err != nil {
			return "", err
		}
	}
	logMs(&p.Y, math.Max(hi, r.Gate.P99LimitMs))
	var ticks []plot.Tick
	for _, v := range []float64{0, 50, 90, 99, 99.9, 99.99, 99.999} {
		ticks = append(ticks, plot.Tick{Value: nines(v), Label: strconv.FormatFloat(v, 'f', -1, 64) + "%"})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min = 0
	flat := plotter.XYs{{X: 0, Y: r.Gate.P99LimitMs}, {X: nines(99.999), Y: r.Gate.P99LimitMs}}
	if err := addLine(p, 2, fmt.Sprintf("gate p99 %g ms", r.Gate.P99LimitMs), flat, true); err != nil {
		return "", err
	}
	return svg(p)
}

// cpuOverTime plots each process's CPU per sample.
func cpuOverTime(r *Result) (string, error) {
	p := newPlot("CPU by process", "seconds since ingest started", "% of one core")
	p.Y.Min = 0
	for i, pr := range r.Processes {
		pts := make(plotter.XYs, len(pr.Series))
		for j, v := range pr.Series {
			pts[j] = plotter.XY{X: float64(j + 1), Y: v}
		}
		if err := addLine(p, i, pr.Name, pts, false); err != nil {
			return "", err
		}
	}
	return svg(p)
}

// rampSteps plots each ramp step's latency against the rate it sent.
func rampSteps(r *Result) (string, error) {
	p := newPlot("Ramp: latency per step (steady clients)", "ticks per second sent", "ms, ingest to client (log)")
	var p50, p99 plotter.XYs
	hi := r.Ramp.LimitMs
	for _, s := range r.Ramp.Steps {
		p50 = append(p50, plotter.XY{X: s.Sent, Y: floorMs(s.Latency.P50)})
		p99 = append(p99, plotter.XY{X: s.Sent, Y: floorMs(s.Latency.P99)})
		hi = math.Max(hi, s.Latency.P99)
	}
	logMs(&p.Y, hi)
	if err := addLine(p, 0, "p50", p50, false); err != nil {
		return "", err
	}
	if err := addLine(p, 2, "p99", p99, false); err != nil {
		return "", err
	}
	if len(r.Ramp.Steps) > 0 {
		flat := plotter.XYs{{X: r.Ramp.Steps[0].Sent, Y: r.Ramp.LimitMs},
			{X: r.Ramp.Steps[len(r.Ramp.Steps)-1].Sent, Y: r.Ramp.LimitMs}}
		if err := addLine(p, 6, fmt.Sprintf("limit %g ms", r.Ramp.LimitMs), flat, true); err != nil {
			return "", err
		}
	}
	return svg(p)
}
