// Istio's gateways as its install creates them. The ingress gateway (`istioctl install`, profile
// default): Deployment and LoadBalancer Service istio-KINDgateway in istio-system, labels
// app=istio-KINDgateway and istio=ingressgateway, the Envoy listening on unprivileged ports —
// Service 80 → 8080 (http2), 443 → 8443 (https), 15021 status (istio/istio
// manifests/charts/gateways/istio-ingress values.yaml, and PR #45943 for the 8080 gateway port
// Bookinfo's Gateway names). The egress gateway (profile demo, or components.egressGateways
// enabled): Deployment and ClusterIP Service istio-egressgateway, labels app=istio-egressgateway and
// istio=egressgateway, 80 → 8080 (http2), 443 → 8443 (https) (manifests/charts/gateways/istio-egress
// values.yaml; istio.io tasks/traffic-management/egress/egress-gateway). podpath adds one when a
// Gateway selects its istio= label and the text holds no such workload, so the Gateway has a proxy.

import type { Diagnostic, GatewayInfo } from '../types.ts';
import { DocReader, readMeta } from '../model/objects.ts';
import { readService, type ServiceIn } from '../model/services.ts';
import { expandWorkload, type PodSpecIn } from '../model/workloads.ts';
import { parseYaml } from '../model/yaml.ts';

const GATEWAY_YAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-KINDgateway, namespace: istio-system, labels: {app: istio-KINDgateway, istio: KINDgateway}}
spec:
  selector: {matchLabels: {app: istio-KINDgateway, istio: KINDgateway}}
  template:
    metadata:
      labels: {app: istio-KINDgateway, istio: KINDgateway, sidecar.istio.io/inject: "false"}
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2
        ports: [{containerPort: 15021, name: status-port}, {containerPort: 8080, name: http2}, {containerPort: 8443, name: https}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-KINDgateway, namespace: istio-system, labels: {app: istio-KINDgateway, istio: KINDgateway}}
spec:
  type: TYPE
  selector: {app: istio-KINDgateway, istio: KINDgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021}
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
`;

export type GatewayKind = 'ingress' | 'egress';

/** The install's YAML for one gateway: the ingress one behind a LoadBalancer, the egress one a ClusterIP. */
export const gatewayYaml = (kind: GatewayKind) => GATEWAY_YAML.replaceAll('KIND', kind).replace('TYPE', kind === 'ingress' ? 'LoadBalancer' : 'ClusterIP');

/** The gateway's workload and Service, with their source pointing at the Gateway that needs them. */
export function gatewayObjects(kind: GatewayKind, gw: GatewayInfo, out: Diagnostic[]): { pods: PodSpecIn[]; services: ServiceIn[] } {
  const parsed = parseYaml(gatewayYaml(kind));
  const scratch: Diagnostic[] = [];
  const pods: PodSpecIn[] = [];
  const services: ServiceIn[] = [];
  for (const d of parsed.docs) {
    const r = new DocReader(parsed, d.index, scratch);
    const meta = readMeta(r, d.value)!;
    meta.source = gw.source;
    if (meta.kind === 'Service') services.push(readService(r, meta));
    else pods.push(...expandWorkload(r, meta).map((p) => ({ ...p, source: gw.source })));
  }
  out.push({ code: 'PP004', severity: 'info', message: `Gateway ${gw.namespace}/${gw.name} selects istio=${kind}gateway: podpath adds Istio's default ${kind} gateway (Deployment and ${kind === 'ingress' ? 'LoadBalancer' : 'ClusterIP'} Service istio-system/istio-${kind}gateway, ports 80 → 8080 and 443 → 8443), as Istio's install creates it.`, ...gw.source });
  return { pods, services };
}
