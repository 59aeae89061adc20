// fake-ccm: a cloud-controller-manager FOR TESTS ONLY, on k8s.io/cloud-provider's own fake
// cloud (k8s.io/cloud-provider/fake). It manages no real load balancer: it logs every
// load-balancer call with the hosts the service controller passed, one line each:
//
//	kconformance-fake-cloud: UpdateLoadBalancer service=<ns>/<name> hosts=<node,node>
//
// so that kconformance can show which node changes make the service controller update a
// load balancer's host set (KEP-3458, StableLoadBalancerNodeSet). Run it with
// --cloud-provider=kconformance-fake --controllers=service (the other cloud controllers
// would act on nodes the fake cloud does not know).
package main

import (
	"context"
	"io"
	"os"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	cloudprovider "k8s.io/cloud-provider"
	"k8s.io/cloud-provider/app"
	"k8s.io/cloud-provider/app/config"
	"k8s.io/cloud-provider/fake"
	"k8s.io/cloud-provider/names"
	"k8s.io/cloud-provider/options"
	"k8s.io/component-base/cli"
	cliflag "k8s.io/component-base/cli/flag"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	"k8s.io/klog/v2"
)

const providerName = "kconformance-fake"

// cloud is the upstream fake cloud with its load-balancer calls logged.
type cloud struct {
	*fake.Cloud
}

func (c *cloud) LoadBalancer() (cloudprovider.LoadBalancer, bool) { return c, true }

func hosts(nodes []*v1.Node) string {
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func (c *cloud) EnsureLoadBalancer(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node) (*v1.LoadBalancerStatus, error) {
	klog.Infof("kconformance-fake-cloud: EnsureLoadBalancer service=%s/%s hosts=%s", svc.Namespace, svc.Name, hosts(nodes))
	if _, err := c.Cloud.EnsureLoadBalancer(ctx, cluster, svc, nodes); err != nil {
		return nil, err
	}
	// a documentation address (RFC 5737): nothing ever routes to it
	return &v1.LoadBalancerStatus{Ingress: []v1.LoadBalancerIngress{{IP: "192.0.2.10"}}}, nil
}

func (c *cloud) UpdateLoadBalancer(ctx context.Context, cluster string, svc *v1.Service, nodes []*v1.Node) error {
	klog.Infof("kconformance-fake-cloud: UpdateLoadBalancer service=%s/%s hosts=%s", svc.Namespace, svc.Name, hosts(nodes))
	return c.Cloud.UpdateLoadBalancer(ctx, cluster, svc, nodes)
}

func (c *cloud) EnsureLoadBalancerDeleted(ctx context.Context, cluster string, svc *v1.Service) error {
	klog.Infof("kconformance-fake-cloud: EnsureLoadBalancerDeleted service=%s/%s", svc.Namespace, svc.Name)
	return c.Cloud.EnsureLoadBalancerDeleted(ctx, cluster, svc)
}

func main() {
	cloudprovider.RegisterCloudProvider(providerName, func(io.Reader) (cloudprovider.Interface, error) {
		return &cloud{Cloud: &fake.Cloud{Provider: providerName}}, nil
	})
	opts, err := options.NewCloudControllerManagerOptions()
	if err != nil {
		klog.Fatalf("options: %v", err)
	}
	initCloud := func(cfg *config.CompletedConfig) cloudprovider.Interface {
		c, err := cloudprovider.InitCloudProvider(cfg.ComponentConfig.KubeCloudShared.CloudProvider.Name, "")
		if err != nil || c == nil {
			klog.Fatalf("cloud provider: %v", err)
		}
		return c
	}
	cmd := app.NewCloudControllerManagerCommand(opts, initCloud, app.DefaultInitFuncConstructors,
		names.CCMControllerAliases(), cliflag.NamedFlagSets{}, wait.NeverStop)
	os.Exit(cli.Run(cmd))
}
