// kms-plugin: a test-only KMS v2 plugin. This go.mod is for editors only:
// hack/build-kms-plugin.sh builds main.go inside the release's wrapper module (hack/components.sh).
module kconformance.local/kms-plugin

go 1.20

require k8s.io/kms v0.28.15
