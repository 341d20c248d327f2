// The built-in default scenario: the shape of cndjp4 hands-on part 1
// (oracle-japan/cndjp4 k8snet/manifests, MIT, (c) 2018 Oracle Japan for Developers), written with
// today's APIs (apps/v1 instead of apps/v1beta1) on podpath's default 3-node cluster.

export const defaultScenario = `# podpath — cndjp4 part 1: the pod network and the Service network
# Cluster defaults: 3 nodes (node-1 control-plane), flannel VXLAN, kube-proxy iptables.
apiVersion: v1
kind: Namespace
metadata:
  name: k8snet
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx
  namespace: k8snet
spec:
  replicas: 2
  selector:
    matchLabels:
      run: my-nginx
  template:
    metadata:
      labels:
        run: my-nginx
    spec:
      containers:
      - name: my-nginx
        image: nginx
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: my-nginx
  namespace: k8snet
spec:
  selector:
    run: my-nginx
  ports:
  - port: 80
    protocol: TCP
---
# the throw-away client pod of the hands-on ("inspector")
apiVersion: v1
kind: Pod
metadata:
  name: inspector
  namespace: k8snet
spec:
  containers:
  - name: inspector
    image: busybox
    command: ["sleep", "3600"]
---
# podpath's own kind: the traffic to animate
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata:
  name: inspector-to-my-nginx
spec:
  from: k8snet/inspector
  to: my-nginx:80
`;
