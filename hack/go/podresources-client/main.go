// podresources-client: a minimal client of the kubelet's PodResources API (KEP 2403, 3743),
// for the kconformance sig-node tests. It talks gRPC to the kubelet's socket and prints each
// answer as one JSON object on stdout, so a test can assert on it from Python.
//
//	podresources-client [--socket PATH] list
//	podresources-client [--socket PATH] allocatable
//	podresources-client [--socket PATH] get NAMESPACE NAME
//
// An RPC error is printed as {"error": {"code": "<gRPC code>", "message": "..."}} with exit
// status 3, so a test can tell "the kubelet refused" (Get with its gate off) from "the client
// could not run" (exit 1, message on stderr).
//
// Built per release against k8s.io/kubelet of that release by hack/build-test-drivers.sh; the
// module file is generated there, so this directory holds only the source.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	v1 "k8s.io/kubelet/pkg/apis/podresources/v1"
)

func main() {
	socket := flag.String("socket", "/var/lib/kubelet/pod-resources/kubelet.sock", "kubelet PodResources socket")
	timeout := flag.Duration("timeout", 10*time.Second, "timeout of the call")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [--socket PATH] list | allocatable | get NAMESPACE NAME\n", os.Args[0])
	}
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	//nolint:staticcheck // grpc.DialContext: the grpc of k8s.io/kubelet v0.28 has no NewClient
	conn, err := grpc.DialContext(ctx, "unix://"+*socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithBlock())
	if err != nil {
		fmt.Fprintf(os.Stderr, "connect %s: %v\n", *socket, err)
		os.Exit(1)
	}
	defer conn.Close()
	client := v1.NewPodResourcesListerClient(conn)

	var answer any
	switch {
	case args[0] == "list" && len(args) == 1:
		answer, err = client.List(ctx, &v1.ListPodResourcesRequest{})
	case args[0] == "allocatable" && len(args) == 1:
		answer, err = client.GetAllocatableResources(ctx, &v1.AllocatableResourcesRequest{})
	case args[0] == "get" && len(args) == 3:
		answer, err = client.Get(ctx, &v1.GetPodResourcesRequest{PodNamespace: args[1], PodName: args[2]})
	default:
		flag.Usage()
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	if err != nil {
		st, _ := status.FromError(err)
		_ = out.Encode(map[string]any{"error": map[string]string{"code": st.Code().String(), "message": st.Message()}})
		os.Exit(3)
	}
	if err := out.Encode(answer); err != nil {
		fmt.Fprintf(os.Stderr, "encode: %v\n", err)
		os.Exit(1)
	}
}
