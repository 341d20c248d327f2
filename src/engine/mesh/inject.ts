// Istio's sidecar injection, as the injector webhook decides it (istio/istio
// manifests/charts/istio-control/istio-discovery/templates/mutatingwebhook.yaml: namespace label
// istio-injection=enabled, or istio.io/rev=<revision>, or the pod label sidecar.istio.io/inject=true;
// pkg/kube/inject/inject.go injectRequired: the label/annotation sidecar.istio.io/inject "false"
// wins, kube-system and kube-public are never injected). An injected pod gets the istio-proxy
// container (Envoy, UID/GID 1337) and an init step (istio-init, or the istio-cni plugin) that
// writes the capture rules of src/engine/istio into the pod's network namespace.

import type { PodInfo, Topology } from '../types.ts';

const IGNORED_NAMESPACES = ['kube-system', 'kube-public'];

/** Why a pod gets a sidecar, or undefined when it does not. */
export function injectionReason(pod: PodInfo, nsLabels: Record<string, string>): string | undefined {
  if (IGNORED_NAMESPACES.includes(pod.namespace)) return undefined;
  const podSays = pod.labels['sidecar.istio.io/inject'] ?? pod.annotations?.['sidecar.istio.io/inject'];
  if (podSays === 'false') return undefined;
  const ns = nsLabels['istio-injection'];
  if (ns === 'disabled') return undefined;
  if (ns === 'enabled') return `namespace ${pod.namespace} has the label istio-injection=enabled`;
  if (nsLabels['istio.io/rev']) return `namespace ${pod.namespace} has the label istio.io/rev=${nsLabels['istio.io/rev']}`;
  if (pod.labels['sidecar.istio.io/inject'] === 'true') return 'the pod has the label sidecar.istio.io/inject=true';
  return undefined;
}

/** Give every pod the webhook would inject its istio-proxy container and capture settings. */
export function injectSidecars(t: Topology) {
  for (const n of t.nodes) {
    for (const pod of n.pods) {
      const reason = injectionReason(pod, t.namespaceLabels[pod.namespace] ?? {});
      if (!reason) continue;
      const captureAnnotations = Object.fromEntries(Object.entries(pod.annotations ?? {}).filter(([k]) => k.startsWith('traffic.sidecar.istio.io/') || k === 'sidecar.istio.io/interceptionMode' || k === 'istio.io/reroute-virtual-interfaces'));
      pod.sidecar = { proxyUid: 1337, proxyGid: 1337, reason, captureAnnotations };
      // The injected proxy: Envoy's admin/stats ports (15090 Prometheus, 15021 health, 15020 agent).
      pod.containers = [...pod.containers, { name: 'istio-proxy', image: 'docker.io/istio/proxyv2', ports: [{ name: 'http-envoy-prom', containerPort: 15090, protocol: 'TCP' }] }];
    }
  }
}
