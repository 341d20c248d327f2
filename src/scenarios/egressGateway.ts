// The built-in "Egress gateway (Istio)" scenario: Istio's egress gateway task (istio.io docs: Tasks
// › Traffic Management › Egress › Egress Gateways), HTTP part — a curl pod with a sidecar, the
// ServiceEntry for edition.cnn.com, the Gateway on istio-egressgateway (podpath adds Istio's default
// egress gateway for it), the DestinationRule with subset cnn, and the VirtualService that sends
// mesh traffic for the host to the gateway and the gateway's traffic out. The manifests are the
// task's (istio/istio.io, Apache-2.0) and samples/curl/curl.yaml (istio/istio, Apache-2.0).
// The Flow names the curl pod by the name the engine generates for it (egressGateway.test.ts).

export const CURL_POD = 'curl-765fc75cf5-ghlcl';

export const egressGatewayScenario = `# podpath — Istio egress gateway: curl → its sidecar → istio-egressgateway → edition.cnn.com.
# podpath has no Internet: the name's DNS answer is a TEST-NET-1 address (192.0.2.x), said so in the trace.
# Try: delete the VirtualService — the sidecar then sends straight out.
apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels:
    istio-injection: enabled
---
# after istio/istio samples/curl/curl.yaml (Apache-2.0, Copyright Istio Authors)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: curl
spec:
  replicas: 1
  selector:
    matchLabels:
      app: curl
  template:
    metadata:
      labels:
        app: curl
    spec:
      containers:
      - name: curl
        image: curlimages/curl
        command: ["/bin/sleep", "infinity"]
---
# The task's manifests (istio.io tasks/traffic-management/egress/egress-gateway, Apache-2.0)
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: cnn
spec:
  hosts:
  - edition.cnn.com
  ports:
  - number: 80
    name: http-port
    protocol: HTTP
  - number: 443
    name: https
    protocol: HTTPS
  resolution: DNS
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: istio-egressgateway
spec:
  selector:
    istio: egressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - edition.cnn.com
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: egressgateway-for-cnn
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets:
  - name: cnn
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: direct-cnn-through-egress-gateway
spec:
  hosts:
  - edition.cnn.com
  gateways:
  - istio-egressgateway
  - mesh
  http:
  - match:
    - gateways:
      - mesh
      port: 80
    route:
    - destination:
        host: istio-egressgateway.istio-system.svc.cluster.local
        subset: cnn
        port:
          number: 80
      weight: 100
  - match:
    - gateways:
      - istio-egressgateway
      port: 80
    route:
    - destination:
        host: edition.cnn.com
        port:
          number: 80
      weight: 100
---
# podpath's own kind: kubectl exec curl -- curl -sSL -o /dev/null -D - http://edition.cnn.com/politics
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata: {name: curl-cnn}
spec: {from: default/${CURL_POD}, to: "edition.cnn.com:80", request: {path: /politics}}
`;
