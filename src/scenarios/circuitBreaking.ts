// The built-in "Circuit breaking (Istio)" scenario: Istio's circuit-breaking task (istio.io docs:
// Tasks › Traffic Management › Circuit Breaking) — httpbin and the fortio load client, both with
// sidecars, and the task's DestinationRule (one connection, one pending request, one request per
// connection; outlier detection on the first 5xx). The Flow sends `fortio load -c 3 -n 30 -qps 0`.
// The manifests follow istio/istio samples/httpbin/httpbin.yaml and
// samples/httpbin/sample-client/fortio-deploy.yaml (Apache-2.0, Copyright Istio Authors).
// The Flow names the fortio pod by the name the engine generates for it (circuitBreaking.test.ts
// checks that it still does).

export const FORTIO_POD = 'fortio-deploy-95b78fdc6-8hnmw';

export const circuitBreakingScenario = `# podpath — Istio circuit breaking: fortio sends 30 requests over 3 connections to httpbin.
# The DestinationRule allows one connection and one waiting request: the rest are 503 (UO).
# Try: connections: 1 (no 503s), or remove connectionPool. See the Mesh requests panel.
apiVersion: v1
kind: Namespace
metadata:
  name: default
  labels:
    istio-injection: enabled
---
# after istio/istio samples/httpbin/httpbin.yaml (Apache-2.0, Copyright Istio Authors)
apiVersion: v1
kind: Service
metadata:
  name: httpbin
  labels:
    app: httpbin
    service: httpbin
spec:
  ports:
  - name: http
    port: 8000
    targetPort: 8080
  selector:
    app: httpbin
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: httpbin
spec:
  replicas: 1
  selector:
    matchLabels:
      app: httpbin
      version: v1
  template:
    metadata:
      labels:
        app: httpbin
        version: v1
    spec:
      containers:
      - image: docker.io/mccutchen/go-httpbin:v2.15.0
        name: httpbin
        ports:
        - containerPort: 8080
---
# after istio/istio samples/httpbin/sample-client/fortio-deploy.yaml (Apache-2.0, Copyright Istio Authors)
apiVersion: apps/v1
kind: Deployment
metadata:
  name: fortio-deploy
spec:
  replicas: 1
  selector:
    matchLabels:
      app: fortio
  template:
    metadata:
      labels:
        app: fortio
    spec:
      containers:
      - name: fortio
        image: fortio/fortio:latest_release
        ports:
        - containerPort: 8080
          name: http-fortio
---
# The task's DestinationRule (istio.io tasks/traffic-management/circuit-breaking)
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: httpbin
spec:
  host: httpbin
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 1
      http:
        http1MaxPendingRequests: 1
        maxRequestsPerConnection: 1
    outlierDetection:
      consecutive5xxErrors: 1
      interval: 1s
      baseEjectionTime: 3m
      maxEjectionPercent: 100
---
# podpath's own kind: fortio load -c 3 -qps 0 -n 30 http://httpbin:8000/get
apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata: {name: fortio-load}
spec:
  from: default/${FORTIO_POD}
  to: "httpbin:8000"
  request: {path: /get}
  load: {connections: 3, requests: 30}
`;
