// Command cri is a minimal CRI client for hack/real-node.sh (crictl's module is not
// available to us): list the node's sandboxes and containers, and stop and remove
// every sandbox so containerd tears down their network namespaces and mounts.
//
//	cri -endpoint unix:///path/containerd.sock pods|ps|images|rmp-all
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	endpoint := flag.String("endpoint", "", "CRI endpoint, unix:///path")
	flag.Parse()
	if *endpoint == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: cri -endpoint unix:///path pods|ps|images|rmp-all")
		os.Exit(2)
	}
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	rt := runtime.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch flag.Arg(0) {
	case "pods":
		r, err := rt.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
		if err != nil {
			log.Fatal(err)
		}
		for _, p := range r.Items {
			fmt.Printf("%.13s  %-8s %s/%s\n", p.Id, p.State, p.Metadata.Namespace, p.Metadata.Name)
		}
	case "ps":
		r, err := rt.ListContainers(ctx, &runtime.ListContainersRequest{})
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range r.Containers {
			fmt.Printf("%.13s  %-18s %-20s pod %.13s  %s\n", c.Id, c.State, c.Metadata.Name, c.PodSandboxId, c.Image.Image)
		}
	case "images":
		r, err := runtime.NewImageServiceClient(conn).ListImages(ctx, &runtime.ListImagesRequest{})
		if err != nil {
			log.Fatal(err)
		}
		for _, i := range r.Images {
			fmt.Printf("%.19s  %v pinned=%v\n", i.Id, i.RepoTags, i.Pinned)
		}
	case "rmp-all":
		r, err := rt.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{})
		if err != nil {
			log.Fatal(err)
		}
		failed := 0
		for _, p := range r.Items {
			if _, err := rt.StopPodSandbox(ctx, &runtime.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
				log.Printf("stop %s/%s: %v", p.Metadata.Namespace, p.Metadata.Name, err)
				failed++
				continue
			}
			if _, err := rt.RemovePodSandbox(ctx, &runtime.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
				log.Printf("remove %s/%s: %v", p.Metadata.Namespace, p.Metadata.Name, err)
				failed++
				continue
			}
			fmt.Printf("removed sandbox %.13s %s/%s\n", p.Id, p.Metadata.Namespace, p.Metadata.Name)
		}
		if failed > 0 {
			os.Exit(1)
		}
	default:
		log.Fatalf("unknown command %q", flag.Arg(0))
	}
}
