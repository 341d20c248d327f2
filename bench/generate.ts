// Generated scenarios for benchmarks: N nodes, S Services each backed by a 2-replica Deployment,
// one client pod and a Flow to the first Service.

export function generateScenario(nodes: number, services: number): string {
  const docs: string[] = [];
  for (let i = 0; i < nodes; i++) {
    docs.push(`apiVersion: v1
kind: Node
metadata:
  name: node-${i + 1}
spec:
  podCIDR: 10.244.${i}.0/24
status:
  addresses:
  - type: InternalIP
    address: 192.168.1.${11 + i}`);
  }
  docs.push('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench');
  for (let s = 0; s < services; s++) {
    docs.push(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-${s}
  namespace: bench
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-${s}
  template:
    metadata:
      labels:
        app: app-${s}
    spec:
      containers:
      - name: web
        image: nginx
        ports:
        - containerPort: 8080`);
    docs.push(`apiVersion: v1
kind: Service
metadata:
  name: app-${s}
  namespace: bench
spec:
  selector:
    app: app-${s}
  ports:
  - port: 80
    targetPort: 8080`);
  }
  docs.push(`apiVersion: v1
kind: Pod
metadata:
  name: client
  namespace: bench
spec:
  containers:
  - name: client
    image: busybox`);
  docs.push(`apiVersion: podpath.dev/v1alpha1
kind: Flow
metadata:
  name: client-to-app
spec:
  from: bench/client
  to: app-${services - 1}:80`);
  return `# generated for podpath's bench: ${nodes} nodes, ${services} Services\n` + docs.join('\n---\n') + '\n';
}

export type EditKind = 'value' | 'structure';

/**
 * The k-th edit of a scenario, as a person typing would make it; every edit is a text the worker
 * has never seen. 'value': a label and an image tag change (the diagram's shape does not, so the
 * layout memo answers). 'structure': the client pod is renamed, so its node group is laid out again.
 */
export function editOf(text: string, k: number, kind: EditKind = 'value'): string {
  if (kind === 'structure') return text.replace(/\b(client|inspector)\b/g, `$1-${k}`);
  return text.replace('image: busybox', `image: busybox:1.${k}`).replace(/(\n {2}name: (?:client|inspector)\n)/, `$1  labels:\n    edit: e${k}\n`);
}
