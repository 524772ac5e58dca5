package charttest

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checker checks the properties of one rendering that a cluster would only
// reveal at run time.
type checker struct {
	t     *testing.T
	o     *objects
	flags map[string]map[string]string // the services' flags and defaults
	envs  map[string]map[string]string // the environment of each service's container
}

func (c *checker) all() {
	c.envs = map[string]map[string]string{}
	if len(c.o.deployments) == 0 {
		c.t.Fatal("no Deployments rendered")
	}
	for _, d := range c.o.deployments {
		c.deployment(d)
	}
	c.services()
	c.disruptionBudgets()
	c.autoscalers()
	c.ingresses()
	c.networkPolicies()
	c.serviceMonitors()
	c.dashboards()
	c.kafkaTopics()
	c.acrossServices()
}

// setting returns a service's setting as the process reads it: from its
// environment, else the flag's default.
func (c *checker) setting(svc, flag string) string {
	if v, ok := c.envs[svc][envName(flag)]; ok {
		return v
	}
	def, ok := c.flags[svc][flag]
	if !ok {
		c.t.Fatalf("%s has no flag -%s", svc, flag)
	}
	return def
}

func (c *checker) duration(svc, flag string) time.Duration {
	v := c.setting(svc, flag)
	d, err := time.ParseDuration(v)
	if err != nil {
		c.t.Errorf("%s -%s=%q: %v", svc, flag, v, err)
	}
	return d
}

func (c *checker) integer(svc, flag string) int {
	v := c.setting(svc, flag)
	n, err := strconv.Atoi(v)
	if err != nil {
		c.t.Errorf("%s -%s=%q: %v", svc, flag, v, err)
	}
	return n
}

// listenFlag is the flag of the address a service serves its health
// endpoints on: its HTTP address when it has one, else its ops address.
func (c *checker) listenFlag(svc string) string {
	if _, ok := c.flags[svc]["http-addr"]; ok {
		return "http-addr"
	}
	return "ops-addr"
}

func (c *checker) deployment(d *appsv1.Deployment) {
	t := c.t
	svc := d.Labels["app.kubernetes.io/component"]
	if !slices.Contains(services, svc) {
		t.Fatalf("Deployment %s: component %q is no service", d.Name, svc)
	}
	if sel := c.o.selected(t, d.Spec.Selector); len(sel) != 1 || sel[0] != d {
		t.Errorf("Deployment %s: its selector selects %d Deployments' pods, want its own alone", d.Name, len(sel))
	}
	pod := d.Spec.Template.Spec
	c.podSecurity(d.Name, pod)
	for _, tsc := range pod.TopologySpreadConstraints {
		if sel := c.o.selected(t, tsc.LabelSelector); len(sel) != 1 || sel[0] != d {
			t.Errorf("Deployment %s: topology spread over %s counts %d Deployments' pods, want its own", d.Name, tsc.TopologyKey, len(sel))
		}
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Errorf("Deployment %s: no checksum/config annotation, so a settings change would not roll the pods", d.Name)
	}
	if len(pod.Containers) != 1 || pod.Containers[0].Name != svc {
		t.Fatalf("Deployment %s: want one container named %s", d.Name, svc)
	}
	ctr := pod.Containers[0]
	if !strings.Contains(ctr.Image, "/"+svc+":") || strings.HasSuffix(ctr.Image, ":") {
		t.Errorf("Deployment %s: image %q is not <repository>/%s:<tag>", d.Name, ctr.Image, svc)
	}
	c.containerSecurity(d.Name, ctr)
	c.resources(d.Name, ctr)

	env := c.o.env(t, ctr)
	c.envs[svc] = env
	for _, name := range keys(env) {
		if _, ok := flagOf(c.flags[svc], name); !ok {
			t.Errorf("Deployment %s sets %s, which is no flag of %s (its flags: -h of the image's binary)", d.Name, name, svc)
		}
	}
	c.probes(d.Name, svc, ctr)
	c.files(d.Name, svc, pod, ctr, env)

	switch svc {
	case "ingest":
		if d.Spec.Replicas == nil || *d.Spec.Replicas > 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			t.Errorf("Deployment %s: want at most one replica, replaced with the Recreate strategy", d.Name)
		}
	case "edge":
		c.edgeTermination(d, ctr)
	case "alerts":
		grace := c.duration(svc, "shutdown-grace")
		if p := pod.TerminationGracePeriodSeconds; p == nil || time.Duration(*p)*time.Second <= grace {
			t.Errorf("Deployment %s: terminationGracePeriodSeconds must exceed -shutdown-grace %s", d.Name, grace)
		}
	}
}

func (c *checker) podSecurity(name string, pod corev1.PodSpec) {
	t := c.t
	sc := pod.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("Deployment %s: pods must run as a non-root user id", name)
	}
	if sc != nil && (sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("Deployment %s: want the RuntimeDefault seccomp profile", name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("Deployment %s: the services need no API token; do not mount it", name)
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("Deployment %s: service links would add LIVEFLOW_-prefixed variables of the chart's own Services", name)
	}
	if len(c.o.serviceAccounts) > 0 && !slices.ContainsFunc(c.o.serviceAccounts, func(sa *corev1.ServiceAccount) bool {
		return sa.Name == pod.ServiceAccountName
	}) {
		t.Errorf("Deployment %s: service account %q is not rendered", name, pod.ServiceAccountName)
	}
}

func (c *checker) containerSecurity(name string, ctr corev1.Container) {
	sc := ctr.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		(sc.Privileged != nil && *sc.Privileged) ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		c.t.Errorf("Deployment %s: want no privilege escalation, a read-only root, no privileges and all capabilities dropped", name)
	}
}

func (c *checker) resources(name string, ctr corev1.Container) {
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := ctr.Resources.Requests[r]
		lim, okLim := ctr.Resources.Limits[r]
		switch {
		case !okReq || !okLim:
			c.t.Errorf("Deployment %s: want a request and a limit of %s", name, r)
		case req.Cmp(lim) > 0:
			c.t.Errorf("Deployment %s: %s request %s is above the limit %s", name, r, req.String(), lim.String())
		}
	}
}

// probes checks that the probes ask the port the service listens on, at the
// paths pkg/svc serves: /healthz for liveness and start-up, /readyz for
// readiness.
func (c *checker) probes(name, svc string, ctr corev1.Container) {
	t := c.t
	listen, err := strconv.Atoi(addrPort(c.setting(svc, c.listenFlag(svc))))
	if err != nil {
		t.Fatalf("Deployment %s: -%s=%q has no port", name, c.listenFlag(svc), c.setting(svc, c.listenFlag(svc)))
	}
	if containerPort(ctr, fmt.Sprint(listen)) == 0 {
		t.Errorf("Deployment %s: %s listens on %d, which is no container port", name, svc, listen)
	}
	for _, p := range []struct {
		kind, path string
		probe      *corev1.Probe
	}{
		{"liveness", "/healthz", ctr.LivenessProbe},
		{"readiness", "/readyz", ctr.ReadinessProbe},
		{"startup", "/healthz", ctr.StartupProbe},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("Deployment %s: no HTTP %s probe", name, p.kind)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path {
			t.Errorf("Deployment %s: %s probe asks %s, want %s", name, p.kind, g.Path, p.path)
		}
		if got := containerPort(ctr, g.Port.String()); got != int32(listen) {
			t.Errorf("Deployment %s: %s probe asks port %s (%d), but %s listens on %d", name, p.kind, g.Port.String(), got, svc, listen)
		}
	}
}

// files checks that every -*-file setting names a file that a read-only
// Secret volume provides.
func (c *checker) files(name, svc string, pod corev1.PodSpec, ctr corev1.Container, env map[string]string) {
	t := c.t
	for _, k := range keys(env) {
		flag, _ := flagOf(c.flags[svc], k)
		if !strings.HasSuffix(flag, "-file") || env[k] == "" {
			continue
		}
		file := env[k]
		var found bool
		for _, m := range ctr.VolumeMounts {
			rel, ok := strings.CutPrefix(file, m.MountPath+"/")
			if !ok {
				continue
			}
			found = true
			if !m.ReadOnly {
				t.Errorf("Deployment %s: %s is on a writable mount", name, file)
			}
			i := slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
			if i < 0 || pod.Volumes[i].Secret == nil {
				t.Errorf("Deployment %s: %s=%s is not on a Secret volume", name, k, file)
				continue
			}
			if !slices.ContainsFunc(pod.Volumes[i].Secret.Items, func(it corev1.KeyToPath) bool { return it.Path == rel }) {
				t.Errorf("Deployment %s: %s=%s, but Secret %s puts no item at %s", name, k, file, pod.Volumes[i].Secret.SecretName, rel)
			}
		}
		if !found {
			t.Errorf("Deployment %s: %s=%s is on no volume", name, k, file)
		}
	}
}

// edgeTermination checks that Kubernetes waits for the preStop pause and
// the edge's whole shutdown grace, which includes the drain, before it
// kills an edge.
func (c *checker) edgeTermination(d *appsv1.Deployment, ctr corev1.Container) {
	t := c.t
	grace, drain := c.duration("edge", "shutdown-grace"), c.duration("edge", "drain-period")
	if drain > grace {
		t.Errorf("edge drain period %s is longer than its shutdown grace %s", drain, grace)
	}
	var pause time.Duration
	if ctr.Lifecycle != nil && ctr.Lifecycle.PreStop != nil {
		if ctr.Lifecycle.PreStop.Sleep == nil {
			t.Errorf("edge preStop hook must be a sleep: the image has no shell")
		} else {
			pause = time.Duration(ctr.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
	}
	var tgp time.Duration // Kubernetes' default is 30s
	if p := d.Spec.Template.Spec.TerminationGracePeriodSeconds; p != nil {
		tgp = time.Duration(*p) * time.Second
	} else {
		tgp = 30 * time.Second
	}
	if tgp <= pause+grace {
		t.Errorf("edge terminationGracePeriodSeconds %s must exceed the preStop pause %s plus -shutdown-grace %s", tgp, pause, grace)
	}
}

func (c *checker) services() {
	t := c.t
	for _, s := range c.o.services {
		sel := c.o.selected(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(sel) != 1 {
			t.Errorf("Service %s selects %d Deployments' pods, want one", s.Name, len(sel))
			continue
		}
		ctr := sel[0].Spec.Template.Spec.Containers[0]
		for _, p := range s.Spec.Ports {
			if containerPort(ctr, p.TargetPort.String()) == 0 {
				t.Errorf("Service %s: target port %s is no port of %s", s.Name, p.TargetPort.String(), sel[0].Name)
			}
		}
		if s.Spec.SessionAffinity != "" && s.Spec.SessionAffinity != corev1.ServiceAffinityNone {
			t.Errorf("Service %s has session affinity: reconnecting clients must be free to land anywhere", s.Name)
		}
	}
	for _, d := range c.o.deployments {
		if !slices.ContainsFunc(c.o.services, func(s *corev1.Service) bool {
			return len(c.o.selected(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})) == 1 &&
				c.o.selected(t, &metav1.LabelSelector{MatchLabels: s.Spec.Selector})[0] == d
		}) {
			t.Errorf("Deployment %s has no Service, so its metrics cannot be scraped", d.Name)
		}
	}
}

func (c *checker) disruptionBudgets() {
	for _, p := range c.o.pdbs {
		if sel := c.o.selected(c.t, p.Spec.Selector); len(sel) != 1 {
			c.t.Errorf("PodDisruptionBudget %s selects %d Deployments' pods, want one", p.Name, len(sel))
		}
	}
}

func (c *checker) autoscalers() {
	t := c.t
	for _, h := range c.o.hpas {
		ref := h.Spec.ScaleTargetRef
		i := slices.IndexFunc(c.o.deployments, func(d *appsv1.Deployment) bool { return d.Name == ref.Name })
		if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" || i < 0 {
			t.Errorf("HorizontalPodAutoscaler %s scales %s %s, which is not rendered", h.Name, ref.Kind, ref.Name)
			continue
		}
		d := c.o.deployments[i]
		if d.Spec.Replicas != nil {
			t.Errorf("Deployment %s sets replicas although %s scales it: each upgrade would reset the count", d.Name, h.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas > h.Spec.MaxReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: min %v above max %d", h.Name, h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		if svc := d.Labels["app.kubernetes.io/component"]; svc == "scorer" {
			c.scorersFit(int(h.Spec.MaxReplicas))
		}
	}
	if d := c.o.deployment("scorer"); d != nil && d.Spec.Replicas != nil {
		c.scorersFit(int(*d.Spec.Replicas))
	}
}

// scorersFit checks that every scorer can own a partition of the ticks
// topic.
func (c *checker) scorersFit(n int) {
	if p := c.integer("scorer", "partitions"); n > p {
		c.t.Errorf("up to %d scorers share %d partitions: some would sit idle", n, p)
	}
}

func (c *checker) ingresses() {
	t := c.t
	for _, ing := range c.o.ingresses {
		for k := range ing.Annotations {
			if strings.Contains(k, "affinity") {
				t.Errorf("Ingress %s: annotation %s; session affinity must stay off", ing.Name, k)
			}
		}
		ping := c.duration("edge", "ping-interval")
		for _, k := range []string{"proxy-read-timeout", "proxy-send-timeout"} {
			v, ok := ing.Annotations["nginx.ingress.kubernetes.io/"+k]
			if !ok {
				continue
			}
			secs, err := strconv.Atoi(v)
			if err != nil || time.Duration(secs)*time.Second <= 2*ping {
				t.Errorf("Ingress %s: %s %q must be well above the edge's ping interval %s", ing.Name, k, v, ping)
			}
		}
		for _, r := range ing.Spec.Rules {
			if r.HTTP == nil {
				t.Errorf("Ingress %s: rule for %s has no paths", ing.Name, r.Host)
				continue
			}
			for _, p := range r.HTTP.Paths {
				b := p.Backend.Service
				s := c.o.service(b.Name)
				if s == nil {
					t.Errorf("Ingress %s: backend Service %s is not rendered", ing.Name, b.Name)
					continue
				}
				if !slices.ContainsFunc(s.Spec.Ports, func(sp corev1.ServicePort) bool {
					return sp.Name == b.Port.Name && b.Port.Name != "" || sp.Port == b.Port.Number && b.Port.Number != 0
				}) {
					t.Errorf("Ingress %s: Service %s has no port %+v", ing.Name, s.Name, b.Port)
				}
			}
		}
	}
}

// networkPolicies checks that each policy covers one service, admits traffic
// on ports the service has and lets it reach DNS and the servers its
// settings name.
func (c *checker) networkPolicies() {
	t := c.t
	covered := map[*appsv1.Deployment]int{}
	for _, np := range c.o.netpols {
		sel := c.o.selected(t, &np.Spec.PodSelector)
		if len(sel) != 1 {
			t.Errorf("NetworkPolicy %s selects %d Deployments' pods, want one", np.Name, len(sel))
			continue
		}
		d := sel[0]
		covered[d]++
		svc := d.Labels["app.kubernetes.io/component"]
		ctr := d.Spec.Template.Spec.Containers[0]
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				if p.Port == nil || containerPort(ctr, p.Port.String()) == 0 {
					t.Errorf("NetworkPolicy %s admits port %v, which %s does not have", np.Name, p.Port, d.Name)
				}
			}
		}
		egress := map[string]bool{}
		for _, rule := range np.Spec.Egress {
			for _, p := range rule.Ports {
				egress[fmt.Sprintf("%s/%s", *p.Protocol, p.Port.String())] = true
			}
		}
		need := []string{"UDP/53"}
		for _, flag := range []string{"kafka-brokers", "redis-addr"} {
			if _, ok := c.flags[svc][flag]; !ok {
				continue
			}
			v := c.setting(svc, flag)
			if v == "" || strings.HasPrefix(v, "secret:") {
				continue // not used, or an address the chart does not know
			}
			for _, addr := range strings.Split(v, ",") {
				need = append(need, "TCP/"+addrPort(strings.TrimSpace(addr)))
			}
		}
		for _, n := range need {
			if !egress[n] {
				t.Errorf("NetworkPolicy %s lets %s reach %v, not %s", np.Name, svc, keys(egress), n)
			}
		}
	}
	if len(c.o.netpols) > 0 {
		for _, d := range c.o.deployments {
			if covered[d] != 1 {
				t.Errorf("Deployment %s is covered by %d NetworkPolicies, want one", d.Name, covered[d])
			}
		}
	}
}

func (c *checker) serviceMonitors() {
	t := c.t
	for _, m := range c.o.monitors {
		var svcs []*corev1.Service
		for _, s := range c.o.services {
			sel, err := metav1.LabelSelectorAsSelector(&m.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if sel.Matches(labels.Set(s.Labels)) {
				svcs = append(svcs, s)
			}
		}
		if len(svcs) != 1 {
			t.Errorf("ServiceMonitor %s selects %d Services, want one", m.Name, len(svcs))
			continue
		}
		for _, e := range m.Spec.Endpoints {
			if e.Path != "/metrics" || !slices.ContainsFunc(svcs[0].Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == e.Port }) {
				t.Errorf("ServiceMonitor %s scrapes port %q path %q; Service %s serves /metrics on its ports %v",
					m.Name, e.Port, e.Path, svcs[0].Name, svcs[0].Spec.Ports)
			}
		}
	}
}

// dashboards checks that every metric a dashboard queries is one the
// services export.
func (c *checker) dashboards() {
	t := c.t
	var exported map[string]bool
	for _, cm := range c.o.configMaps {
		for k, v := range cm.Data {
			if !strings.HasSuffix(k, ".json") {
				continue
			}
			if exported == nil {
				exported = exportedMetrics(t)
			}
			var dash any
			if err := json.Unmarshal([]byte(v), &dash); err != nil {
				t.Errorf("ConfigMap %s: %s is not JSON: %v", cm.Name, k, err)
				continue
			}
			exprs := collect(dash, "expr")
			if len(exprs) == 0 {
				t.Errorf("ConfigMap %s: dashboard %s queries nothing", cm.Name, k)
			}
			for _, e := range exprs {
				for _, m := range metricName.FindAllString(e, -1) {
					base := m
					for _, suf := range []string{"_bucket", "_sum", "_count"} {
						if b, ok := strings.CutSuffix(m, suf); ok && exported[b] {
							base = b
						}
					}
					if !exported[base] {
						t.Errorf("dashboard %s queries %s, which no service exports", k, m)
					}
				}
			}
		}
	}
}

// collect returns the string values of a key anywhere in decoded JSON.
func collect(v any, key string) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == key {
				out = append(out, s)
			} else {
				out = append(out, collect(e, key)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, collect(e, key)...)
		}
	}
	return out
}

// kafkaTopics checks that the Strimzi topics are the ones the services
// use, partitioned as they expect.
func (c *checker) kafkaTopics() {
	t := c.t
	if len(c.o.topics) == 0 {
		return
	}
	partitions := c.integer("scorer", "partitions")
	want := map[string]bool{}
	for _, f := range []string{"ticks-topic", "state-topic", "flow-topic", "dlq-topic"} {
		if topic := c.setting("scorer", f); topic != "" {
			want[topic] = false
		}
	}
	state := c.setting("scorer", "state-topic")
	for _, k := range c.o.topics {
		if k.Kind != "KafkaTopic" || !strings.HasPrefix(k.APIVersion, "kafka.strimzi.io/") || k.Labels["strimzi.io/cluster"] == "" {
			t.Errorf("KafkaTopic %s: %s %s for cluster %q", k.Name, k.APIVersion, k.Kind, k.Labels["strimzi.io/cluster"])
		}
		if _, ok := want[k.Spec.TopicName]; !ok {
			t.Errorf("KafkaTopic %s: topic %q is none the services use", k.Name, k.Spec.TopicName)
		}
		want[k.Spec.TopicName] = true
		if int(k.Spec.Partitions) != partitions {
			t.Errorf("KafkaTopic %s: %d partitions, but the services expect %d", k.Name, k.Spec.Partitions, partitions)
		}
		policy := map[bool]string{true: "compact", false: "delete"}[k.Spec.TopicName == state]
		if p := k.Spec.Config["cleanup.policy"]; p != policy && (p != "" || policy == "compact") {
			t.Errorf("KafkaTopic %s: cleanup.policy %q, want %s", k.Name, p, policy)
		}
	}
	for topic, seen := range want {
		if !seen {
			t.Errorf("no KafkaTopic for %s", topic)
		}
	}
}

// acrossServices checks the settings that services must agree on.
func (c *checker) acrossServices() {
	t := c.t
	has := func(svc string) bool { return c.envs[svc] != nil }
	if has("scorer") && has("edge") {
		if s, e := c.setting("scorer", "shards"), c.setting("edge", "shards"); s != e {
			t.Errorf("scorers write %s shard streams, edges read %s", s, e)
		}
		pubsub := c.setting("edge", "fanout") == "pubsub"
		if notify, _ := strconv.ParseBool(c.setting("scorer", "stream-notify")); notify != pubsub {
			t.Errorf("edges fan out with %s, scorers announce appends: %v", c.setting("edge", "fanout"), notify)
		}
	}
	if has("scorer") && has("ingest") {
		for _, f := range []string{"kafka-brokers", "ticks-topic", "partitions"} {
			if i, s := c.setting("ingest", f), c.setting("scorer", f); i != s {
				t.Errorf("ingest -%s=%q, scorer -%s=%q", f, i, f, s)
			}
		}
	}
}
