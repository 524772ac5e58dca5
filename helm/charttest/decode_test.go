package charttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// decoder decodes manifests into the official API types the way the API
// server does with strict field validation: an unknown, misspelled,
// miscased or duplicated field is an error.
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// kafkaTopic is the part of Strimzi's KafkaTopic resource the chart writes.
// Strimzi publishes no Go types, so this mirrors its CRD (spec.topicName,
// partitions, replicas, config) and is decoded as strictly.
type kafkaTopic struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		TopicName  string            `json:"topicName"`
		Partitions int32             `json:"partitions"`
		Replicas   int32             `json:"replicas"`
		Config     map[string]string `json:"config,omitempty"`
	} `json:"spec"`
}

// objects are the decoded manifests of one rendering, by kind.
type objects struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	ingresses       []*networkingv1.Ingress
	netpols         []*networkingv1.NetworkPolicy
	monitors        []*monitoringv1.ServiceMonitor
	topics          []*kafkaTopic
}

// decodeAll decodes every manifest strictly; any kind the tests do not know
// is an error, so a new kind of resource comes with its checks.
func decodeAll(t testing.TB, manifests []releaseutil.Manifest) *objects {
	t.Helper()
	o := &objects{}
	for _, m := range manifests {
		if m.Head.Kind == "KafkaTopic" {
			o.topics = append(o.topics, decodeTopic(t, m))
			continue
		}
		obj, _, err := decoder.Decode([]byte(m.Content), nil, nil)
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		if ns := obj.(metav1.Object).GetNamespace(); ns != "" {
			t.Errorf("%s: namespace %q is set; the release's namespace should apply", m.Name, ns)
		}
		switch x := obj.(type) {
		case *appsv1.Deployment:
			o.deployments = append(o.deployments, x)
		case *corev1.Service:
			o.services = append(o.services, x)
		case *corev1.ConfigMap:
			o.configMaps = append(o.configMaps, x)
		case *corev1.ServiceAccount:
			o.serviceAccounts = append(o.serviceAccounts, x)
		case *policyv1.PodDisruptionBudget:
			o.pdbs = append(o.pdbs, x)
		case *autoscalingv2.HorizontalPodAutoscaler:
			o.hpas = append(o.hpas, x)
		case *networkingv1.Ingress:
			o.ingresses = append(o.ingresses, x)
		case *networkingv1.NetworkPolicy:
			o.netpols = append(o.netpols, x)
		case *monitoringv1.ServiceMonitor:
			o.monitors = append(o.monitors, x)
		default:
			t.Errorf("%s: kind %T has no checks here", m.Name, obj)
		}
	}
	return o
}

func decodeTopic(t testing.TB, m releaseutil.Manifest) *kafkaTopic {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(m.Content))
	if err != nil {
		t.Fatalf("%s: %v", m.Name, err)
	}
	var k kafkaTopic
	strict, err := kjson.UnmarshalStrict(js, &k)
	if err != nil || len(strict) > 0 {
		t.Errorf("%s: %v %v", m.Name, err, strict)
	}
	return &k
}

// deployment returns the Deployment of a service, or nil.
func (o *objects) deployment(svc string) *appsv1.Deployment {
	for _, d := range o.deployments {
		if d.Labels["app.kubernetes.io/component"] == svc {
			return d
		}
	}
	return nil
}

func (o *objects) configMap(name string) *corev1.ConfigMap {
	for _, c := range o.configMaps {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (o *objects) service(name string) *corev1.Service {
	for _, s := range o.services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// selected returns the Deployments whose pods the selector selects.
func (o *objects) selected(t testing.TB, sel *metav1.LabelSelector) []*appsv1.Deployment {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %v: %v", sel, err)
	}
	var ds []*appsv1.Deployment
	for _, d := range o.deployments {
		if !s.Empty() && s.Matches(labels.Set(d.Spec.Template.Labels)) {
			ds = append(ds, d)
		}
	}
	return ds
}

// env is a container's environment as the process sees it: the keys of
// its envFrom ConfigMaps, then its env entries; values from Secrets read
// "secret:NAME/KEY".
func (o *objects) env(t testing.TB, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		if from.ConfigMapRef == nil || from.Prefix != "" {
			t.Fatalf("container %s: envFrom %+v: only whole ConfigMaps are expected", c.Name, from)
		}
		cm := o.configMap(from.ConfigMapRef.Name)
		if cm == nil {
			t.Fatalf("container %s: envFrom names ConfigMap %q, which the chart does not render", c.Name, from.ConfigMapRef.Name)
		}
		for k, v := range cm.Data {
			env[k] = v
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = fmt.Sprintf("secret:%s/%s", e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
		default:
			t.Errorf("container %s: env %s comes from %+v", c.Name, e.Name, e.ValueFrom)
		}
	}
	return env
}

// containerPort returns the number of a container port given by name or
// number, or 0 when the container has no such port.
func containerPort(c corev1.Container, port string) int32 {
	for _, p := range c.Ports {
		if p.Name == port || fmt.Sprint(p.ContainerPort) == port {
			return p.ContainerPort
		}
	}
	return 0
}

// addrPort returns the port of a host:port or :port address.
func addrPort(addr string) string {
	return addr[strings.LastIndex(addr, ":")+1:]
}

func keys[M ~map[string]V, V any](m M) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
