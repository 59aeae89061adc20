// crictl-mini: a small CRI command line client implementing the subset of
// crictl (sigs.k8s.io/cri-tools) used by kubeadm v1.28 and kind v0.25.
// Built only because sigs.k8s.io/cri-tools is not served by the module proxy here.
// Dependency versions follow k8s.io/kubernetes v1.28.15's go.mod.
module kconformance.local/crictl-mini

go 1.20

require (
	google.golang.org/grpc v1.56.3
	k8s.io/cri-api v0.28.15
	sigs.k8s.io/yaml v1.3.0
)

require (
	github.com/gogo/protobuf v1.3.2 // indirect
	github.com/golang/protobuf v1.5.4 // indirect
	golang.org/x/net v0.23.0 // indirect
	golang.org/x/sys v0.18.0 // indirect
	golang.org/x/text v0.14.0 // indirect
	google.golang.org/genproto v0.0.0-20230526161137-0005af68ea54 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20230525234030-28d5490b6b19 // indirect
	google.golang.org/protobuf v1.33.0 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
