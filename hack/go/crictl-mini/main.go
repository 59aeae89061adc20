// Command crictl is a minimal, crictl-compatible CRI client (kconformance).
//
// Supported: version, info, pods, ps, inspect, inspectp, inspecti, images,
// pull, rmi, stop, rm, stopp, rmp.  Global flags: -r/--runtime-endpoint,
// -i/--image-endpoint, -t/--timeout, -D/--debug, -c/--config.
// Endpoints default to $CONTAINER_RUNTIME_ENDPOINT / $IMAGE_SERVICE_ENDPOINT,
// then /etc/crictl.yaml, then unix:///run/containerd/containerd.sock.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	pb "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/yaml"
)

// Version is the crictl version reported by `crictl version` / `--version`.
var Version = "v1.28.0-kconformance-mini"

const defaultEndpoint = "unix:///run/containerd/containerd.sock"

type globals struct {
	runtimeEndpoint string
	imageEndpoint   string
	timeout         time.Duration
	debug           bool
	config          string
}

func die(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "crictl: "+format+"\n", args...)
	os.Exit(1)
}

// parseInterspersed parses fs allowing flags after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) []string {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			os.Exit(2)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos
		}
		if args[0] == "--" {
			return append(pos, args[1:]...)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func normEndpoint(ep string) string {
	if ep == "" {
		return ""
	}
	if strings.Contains(ep, "://") {
		return ep
	}
	return "unix://" + ep
}

func (g *globals) resolve() {
	cfg := map[string]interface{}{}
	if data, err := os.ReadFile(g.config); err == nil {
		_ = yaml.Unmarshal(data, &cfg)
	}
	str := func(k string) string {
		if v, ok := cfg[k].(string); ok {
			return v
		}
		return ""
	}
	if g.runtimeEndpoint == "" {
		g.runtimeEndpoint = os.Getenv("CONTAINER_RUNTIME_ENDPOINT")
	}
	if g.runtimeEndpoint == "" {
		g.runtimeEndpoint = str("runtime-endpoint")
	}
	if g.runtimeEndpoint == "" {
		g.runtimeEndpoint = defaultEndpoint
	}
	if g.imageEndpoint == "" {
		g.imageEndpoint = os.Getenv("IMAGE_SERVICE_ENDPOINT")
	}
	if g.imageEndpoint == "" {
		g.imageEndpoint = str("image-endpoint")
	}
	if g.imageEndpoint == "" {
		g.imageEndpoint = g.runtimeEndpoint
	}
	if g.timeout == 0 {
		if t, ok := cfg["timeout"].(float64); ok && t > 0 {
			g.timeout = time.Duration(t) * time.Second
		} else {
			g.timeout = 2 * time.Second
		}
	}
	g.runtimeEndpoint = normEndpoint(g.runtimeEndpoint)
	g.imageEndpoint = normEndpoint(g.imageEndpoint)
}

func dial(ep string, timeout time.Duration) *grpc.ClientConn {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := grpc.DialContext(ctx, ep,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16*1024*1024)))
	if err != nil {
		die("connect to %s: %v", ep, err)
	}
	return conn
}

type clients struct {
	g   *globals
	rt  pb.RuntimeServiceClient
	img pb.ImageServiceClient
}

func (c *clients) runtime() pb.RuntimeServiceClient {
	if c.rt == nil {
		c.rt = pb.NewRuntimeServiceClient(dial(c.g.runtimeEndpoint, c.g.timeout))
	}
	return c.rt
}

func (c *clients) image() pb.ImageServiceClient {
	if c.img == nil {
		c.img = pb.NewImageServiceClient(dial(c.g.imageEndpoint, c.g.timeout))
	}
	return c.img
}

func (c *clients) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.g.timeout)
}

// longCtx is used for pulls, which may take much longer than the timeout.
func (c *clients) longCtx() (context.Context, context.CancelFunc) {
	t := c.g.timeout
	if t < 30*time.Minute {
		t = 30 * time.Minute
	}
	return context.WithTimeout(context.Background(), t)
}

// snakeToCamel rewrites proto json names (repo_tags) to protojson names (repoTags).
func snakeToCamel(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		out := make(map[string]interface{}, len(t))
		for k, val := range t {
			parts := strings.Split(k, "_")
			for i := 1; i < len(parts); i++ {
				if parts[i] != "" {
					parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
				}
			}
			out[strings.Join(parts, "")] = snakeToCamel(val)
		}
		return out
	case []interface{}:
		for i := range t {
			t[i] = snakeToCamel(t[i])
		}
		return t
	default:
		return v
	}
}

func toGeneric(msg interface{}) interface{} {
	data, err := json.Marshal(msg)
	if err != nil {
		die("marshal: %v", err)
	}
	var v interface{}
	if err := json.Unmarshal(data, &v); err != nil {
		die("unmarshal: %v", err)
	}
	return snakeToCamel(v)
}

// withInfo builds {"status": status, <k>: info[k] parsed as JSON when possible}.
func withInfo(statusKey string, status interface{}, info map[string]string) map[string]interface{} {
	out := map[string]interface{}{}
	if status != nil {
		out[statusKey] = toGeneric(status)
	}
	for k, v := range info {
		var parsed interface{}
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			out[k] = parsed
		} else {
			out[k] = v
		}
	}
	return out
}

func output(v interface{}, format, tmpl string) {
	switch format {
	case "", "json":
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			die("encode: %v", err)
		}
		os.Stdout.Write(buf.Bytes())
	case "yaml":
		data, err := yaml.Marshal(v)
		if err != nil {
			die("encode: %v", err)
		}
		os.Stdout.Write(data)
	case "go-template":
		t, err := template.New("out").Option("missingkey=zero").Parse(tmpl)
		if err != nil {
			die("template: %v", err)
		}
		if err := t.Execute(os.Stdout, v); err != nil {
			die("template: %v", err)
		}
	default:
		die("unsupported output format %q", format)
	}
}

func outputFlags(fs *flag.FlagSet, def string) (*string, *string) {
	o := fs.String("output", def, "output format: json, yaml, go-template")
	fs.StringVar(o, "o", def, "short for --output")
	t := fs.String("template", "", "go template for -o go-template")
	return o, t
}

func shortID(id string) string {
	if len(id) > 13 {
		return id[:13]
	}
	return id
}

func age(ns int64) string {
	if ns == 0 {
		return ""
	}
	d := time.Since(time.Unix(0, ns)).Round(time.Second)
	return d.String() + " ago"
}

func main() {
	g := &globals{}
	gfs := flag.NewFlagSet("crictl", flag.ContinueOnError)
	for _, n := range []string{"runtime-endpoint", "r"} {
		gfs.StringVar(&g.runtimeEndpoint, n, "", "CRI runtime endpoint")
	}
	for _, n := range []string{"image-endpoint", "i"} {
		gfs.StringVar(&g.imageEndpoint, n, "", "CRI image endpoint")
	}
	for _, n := range []string{"timeout", "t"} {
		gfs.DurationVar(&g.timeout, n, 0, "connection/request timeout")
	}
	for _, n := range []string{"debug", "D"} {
		gfs.BoolVar(&g.debug, n, false, "debug output (ignored)")
	}
	for _, n := range []string{"config", "c"} {
		gfs.StringVar(&g.config, n, "/etc/crictl.yaml", "config file")
	}
	showVersion := gfs.Bool("version", false, "print version")
	gfs.BoolVar(showVersion, "v", false, "print version")
	if err := gfs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *showVersion {
		fmt.Printf("crictl version %s\n", Version)
		return
	}
	args := gfs.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: crictl [global flags] version|info|pods|ps|inspect|inspectp|inspecti|images|pull|rmi|stop|rm|stopp|rmp ...")
		os.Exit(2)
	}
	g.resolve()
	c := &clients{g: g}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("crictl "+cmd, flag.ExitOnError)

	switch cmd {
	case "version":
		ctx, cancel := c.ctx()
		defer cancel()
		r, err := c.runtime().Version(ctx, &pb.VersionRequest{})
		if err != nil {
			die("version: %v", err)
		}
		fmt.Printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\nRuntimeApiVersion:  %s\n",
			r.Version, r.RuntimeName, r.RuntimeVersion, r.RuntimeApiVersion)

	case "info":
		o, t := outputFlags(fs, "json")
		parseInterspersed(fs, rest)
		ctx, cancel := c.ctx()
		defer cancel()
		r, err := c.runtime().Status(ctx, &pb.StatusRequest{Verbose: true})
		if err != nil {
			die("getting status of runtime: %v", err)
		}
		output(withInfo("status", r.Status, r.Info), *o, *t)

	case "pods":
		quiet := fs.Bool("quiet", false, "only IDs")
		fs.BoolVar(quiet, "q", false, "only IDs")
		name := fs.String("name", "", "filter by pod name (substring)")
		ns := fs.String("namespace", "", "filter by namespace (substring)")
		state := fs.String("state", "", "ready|notready")
		o := fs.String("output", "table", "table|json|yaml")
		fs.StringVar(o, "o", "table", "table|json|yaml")
		parseInterspersed(fs, rest)
		filter := &pb.PodSandboxFilter{}
		switch strings.ToLower(*state) {
		case "ready":
			filter.State = &pb.PodSandboxStateValue{State: pb.PodSandboxState_SANDBOX_READY}
		case "notready":
			filter.State = &pb.PodSandboxStateValue{State: pb.PodSandboxState_SANDBOX_NOTREADY}
		}
		ctx, cancel := c.ctx()
		defer cancel()
		r, err := c.runtime().ListPodSandbox(ctx, &pb.ListPodSandboxRequest{Filter: filter})
		if err != nil {
			die("listing pod sandboxes: %v", err)
		}
		var items []*pb.PodSandbox
		for _, p := range r.Items {
			md := p.Metadata
			if md == nil {
				md = &pb.PodSandboxMetadata{}
			}
			if !strings.Contains(md.Name, *name) || !strings.Contains(md.Namespace, *ns) {
				continue
			}
			items = append(items, p)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].CreatedAt > items[j].CreatedAt })
		if *quiet {
			for _, p := range items {
				fmt.Println(p.Id)
			}
			return
		}
		if *o != "table" {
			output(map[string]interface{}{"items": toGeneric(items)}, *o, "")
			return
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
		fmt.Fprintln(w, "POD ID\tCREATED\tSTATE\tNAME\tNAMESPACE\tATTEMPT")
		for _, p := range items {
			md := p.Metadata
			if md == nil {
				md = &pb.PodSandboxMetadata{}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\n", shortID(p.Id), age(p.CreatedAt),
				strings.TrimPrefix(p.State.String(), "SANDBOX_"), md.Name, md.Namespace, md.Attempt)
		}
		w.Flush()

	case "ps":
		all := fs.Bool("all", false, "show all containers")
		fs.BoolVar(all, "a", false, "show all containers")
		quiet := fs.Bool("quiet", false, "only IDs")
		fs.BoolVar(quiet, "q", false, "only IDs")
		name := fs.String("name", "", "filter by container name (substring)")
		pod := fs.String("pod", "", "filter by pod sandbox id")
		fs.StringVar(pod, "p", "", "filter by pod sandbox id")
		state := fs.String("state", "", "created|running|exited|unknown")
		o := fs.String("output", "table", "table|json|yaml")
		fs.StringVar(o, "o", "table", "table|json|yaml")
		parseInterspersed(fs, rest)
		filter := &pb.ContainerFilter{PodSandboxId: *pod}
		if *state != "" {
			v, ok := pb.ContainerState_value["CONTAINER_"+strings.ToUpper(*state)]
			if !ok {
				die("unknown state %q", *state)
			}
			filter.State = &pb.ContainerStateValue{State: pb.ContainerState(v)}
		} else if !*all {
			filter.State = &pb.ContainerStateValue{State: pb.ContainerState_CONTAINER_RUNNING}
		}
		ctx, cancel := c.ctx()
		defer cancel()
		r, err := c.runtime().ListContainers(ctx, &pb.ListContainersRequest{Filter: filter})
		if err != nil {
			die("listing containers: %v", err)
		}
		var items []*pb.Container
		for _, ct := range r.Containers {
			if ct.Metadata != nil && !strings.Contains(ct.Metadata.Name, *name) {
				continue
			}
			items = append(items, ct)
		}
		sort.Slice(items, func(i, j int) bool { return items[i].CreatedAt > items[j].CreatedAt })
		if *quiet {
			for _, ct := range items {
				fmt.Println(ct.Id)
			}
			return
		}
		if *o != "table" {
			output(map[string]interface{}{"containers": toGeneric(items)}, *o, "")
			return
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
		fmt.Fprintln(w, "CONTAINER\tIMAGE\tCREATED\tSTATE\tNAME\tATTEMPT\tPOD ID")
		for _, ct := range items {
			md := ct.Metadata
			if md == nil {
				md = &pb.ContainerMetadata{}
			}
			img := ct.ImageRef
			if ct.Image != nil && ct.Image.Image != "" {
				img = ct.Image.Image
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", shortID(ct.Id), shortID(strings.TrimPrefix(img, "sha256:")),
				age(ct.CreatedAt), strings.TrimPrefix(ct.State.String(), "CONTAINER_"), md.Name, md.Attempt, shortID(ct.PodSandboxId))
		}
		w.Flush()

	case "inspect", "inspectp", "inspecti":
		o, t := outputFlags(fs, "json")
		ids := parseInterspersed(fs, rest)
		if len(ids) == 0 {
			die("%s: ID or image name required", cmd)
		}
		for _, id := range ids {
			ctx, cancel := c.ctx()
			var v interface{}
			switch cmd {
			case "inspect":
				r, err := c.runtime().ContainerStatus(ctx, &pb.ContainerStatusRequest{ContainerId: id, Verbose: true})
				if err != nil {
					die("getting the status of the container %q: %v", id, err)
				}
				v = withInfo("status", r.Status, r.Info)
			case "inspectp":
				r, err := c.runtime().PodSandboxStatus(ctx, &pb.PodSandboxStatusRequest{PodSandboxId: id, Verbose: true})
				if err != nil {
					die("getting the pod sandbox status for %q: %v", id, err)
				}
				v = withInfo("status", r.Status, r.Info)
			case "inspecti":
				r, err := c.image().ImageStatus(ctx, &pb.ImageStatusRequest{Image: &pb.ImageSpec{Image: id}, Verbose: true})
				if err != nil {
					die("image status for %q request: %v", id, err)
				}
				if r.Image == nil {
					die("no such image %q present", id)
				}
				v = withInfo("status", r.Image, r.Info)
			}
			cancel()
			output(v, *o, *t)
		}

	case "images", "image", "img":
		quiet := fs.Bool("quiet", false, "only IDs")
		fs.BoolVar(quiet, "q", false, "only IDs")
		digests := fs.Bool("digests", false, "show digests")
		o := fs.String("output", "table", "table|json|yaml")
		fs.StringVar(o, "o", "table", "table|json|yaml")
		ref := parseInterspersed(fs, rest)
		req := &pb.ListImagesRequest{}
		if len(ref) > 0 {
			req.Filter = &pb.ImageFilter{Image: &pb.ImageSpec{Image: ref[0]}}
		}
		ctx, cancel := c.ctx()
		defer cancel()
		r, err := c.image().ListImages(ctx, req)
		if err != nil {
			die("listing images: %v", err)
		}
		if *quiet {
			for _, im := range r.Images {
				fmt.Println(im.Id)
			}
			return
		}
		if *o != "table" {
			output(map[string]interface{}{"images": toGeneric(r.Images)}, *o, "")
			return
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 0, 3, ' ', 0)
		if *digests {
			fmt.Fprintln(w, "IMAGE\tTAG\tDIGEST\tIMAGE ID\tSIZE")
		} else {
			fmt.Fprintln(w, "IMAGE\tTAG\tIMAGE ID\tSIZE")
		}
		for _, im := range r.Images {
			tags := im.RepoTags
			if len(tags) == 0 {
				tags = []string{"<none>:<none>"}
			}
			digest := "<none>"
			if len(im.RepoDigests) > 0 {
				if i := strings.Index(im.RepoDigests[0], "@"); i >= 0 {
					digest = shortID(strings.TrimPrefix(im.RepoDigests[0][i+1:], "sha256:"))
				}
			}
			for _, tag := range tags {
				repo, tg := tag, "<none>"
				if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
					repo, tg = tag[:i], tag[i+1:]
				}
				size := fmt.Sprintf("%.3gMB", float64(im.Size_)/1e6)
				if *digests {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", repo, tg, digest, shortID(strings.TrimPrefix(im.Id, "sha256:")), size)
				} else {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", repo, tg, shortID(strings.TrimPrefix(im.Id, "sha256:")), size)
				}
			}
		}
		w.Flush()

	case "pull":
		ids := parseInterspersed(fs, rest)
		if len(ids) != 1 {
			die("pull: exactly one image name required")
		}
		ctx, cancel := c.longCtx()
		defer cancel()
		r, err := c.image().PullImage(ctx, &pb.PullImageRequest{Image: &pb.ImageSpec{Image: ids[0]}})
		if err != nil {
			die("pulling image: %v", err)
		}
		fmt.Printf("Image is up to date for %s\n", r.ImageRef)

	case "rmi":
		ids := parseInterspersed(fs, rest)
		if len(ids) == 0 {
			die("rmi: image required")
		}
		for _, id := range ids {
			ctx, cancel := c.ctx()
			_, err := c.image().RemoveImage(ctx, &pb.RemoveImageRequest{Image: &pb.ImageSpec{Image: id}})
			cancel()
			if err != nil {
				die("error of removing image %q: %v", id, err)
			}
			fmt.Printf("Deleted: %s\n", id)
		}

	case "stop", "rm", "stopp", "rmp":
		tmo := fs.Int64("timeout", 0, "stop timeout seconds")
		force := fs.Bool("force", false, "stop before removing")
		fs.BoolVar(force, "f", false, "stop before removing")
		ids := parseInterspersed(fs, rest)
		if len(ids) == 0 {
			die("%s: ID required", cmd)
		}
		for _, id := range ids {
			ctx, cancel := c.longCtx()
			var err error
			switch cmd {
			case "stop":
				_, err = c.runtime().StopContainer(ctx, &pb.StopContainerRequest{ContainerId: id, Timeout: *tmo})
			case "rm":
				if *force {
					_, _ = c.runtime().StopContainer(ctx, &pb.StopContainerRequest{ContainerId: id, Timeout: *tmo})
				}
				_, err = c.runtime().RemoveContainer(ctx, &pb.RemoveContainerRequest{ContainerId: id})
			case "stopp":
				_, err = c.runtime().StopPodSandbox(ctx, &pb.StopPodSandboxRequest{PodSandboxId: id})
			case "rmp":
				if *force {
					_, _ = c.runtime().StopPodSandbox(ctx, &pb.StopPodSandboxRequest{PodSandboxId: id})
				}
				_, err = c.runtime().RemovePodSandbox(ctx, &pb.RemovePodSandboxRequest{PodSandboxId: id})
			}
			cancel()
			if err != nil {
				die("%s %q: %v", cmd, id, err)
			}
			switch cmd {
			case "stopp":
				fmt.Printf("Stopped sandbox %s\n", id)
			case "rmp":
				fmt.Printf("Removed sandbox %s\n", id)
			default:
				fmt.Println(id)
			}
		}

	default:
		die("unknown command %q", cmd)
	}
}
