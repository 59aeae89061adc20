// fake-ccm: a test-only cloud-controller-manager; hack/build-fake-ccm.sh builds it per release
// against that release's k8s.io/cloud-provider (it rewrites the require line in a copy).
module kconformance.local/fake-ccm

go 1.20

require k8s.io/cloud-provider v0.28.15
