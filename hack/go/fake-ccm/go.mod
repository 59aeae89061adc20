// fake-ccm: a test-only cloud-controller-manager. This go.mod is for editors only:
// hack/build-fake-ccm.sh builds main.go inside the release's wrapper module (hack/components.sh).
module kconformance.local/fake-ccm

go 1.20

require k8s.io/cloud-provider v0.28.15
