// kms-plugin: a test-only KMS v2 plugin; hack/build-kms-plugin.sh builds it once per
// release against that release's k8s.io/kms (it rewrites the require line in a copy).
module kconformance.local/kms-plugin

go 1.20

require k8s.io/kms v0.28.15
