// Istio's default ingress gateway, as `istioctl install` (profile default) creates it: Deployment and
// LoadBalancer Service istio-ingressgateway in istio-system, labels app=istio-ingressgateway and
// istio=ingressgateway, the Envoy listening on unprivileged ports — Service 80 → 8080 (http2),
// 443 → 8443 (https), 15021 status (istio/istio manifests/charts/gateways/istio-ingress values.yaml,
// and PR #45943 for the 8080 gateway port Bookinfo's Gateway names). podpath adds it when a Gateway
// selects istio=ingressgateway and the text holds no such workload, so a Gateway has a way in.

import type { Diagnostic, GatewayInfo } from '../types.ts';
import { DocReader, readMeta } from '../model/objects.ts';
import { readService, type ServiceIn } from '../model/services.ts';
import { expandWorkload, type PodSpecIn } from '../model/workloads.ts';
import { parseYaml } from '../model/yaml.ts';

export const INGRESS_GATEWAY_YAML = `apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: istio-system, labels: {app: istio-ingressgateway, istio: ingressgateway}}
spec:
  selector: {matchLabels: {app: istio-ingressgateway, istio: ingressgateway}}
  template:
    metadata:
      labels: {app: istio-ingressgateway, istio: ingressgateway, sidecar.istio.io/inject: "false"}
    spec:
      containers:
      - name: istio-proxy
        image: docker.io/istio/proxyv2
        ports: [{containerPort: 15021, name: status-port}, {containerPort: 8080, name: http2}, {containerPort: 8443, name: https}]
---
apiVersion: v1
kind: Service
metadata: {name: istio-ingressgateway, namespace: istio-system, labels: {app: istio-ingressgateway, istio: ingressgateway}}
spec:
  type: LoadBalancer
  selector: {app: istio-ingressgateway, istio: ingressgateway}
  ports:
  - {name: status-port, port: 15021, targetPort: 15021}
  - {name: http2, port: 80, targetPort: 8080}
  - {name: https, port: 443, targetPort: 8443}
`;

/** The gateway's workload and Service, with their source pointing at the Gateway that needs them. */
export function ingressGatewayObjects(gw: GatewayInfo, out: Diagnostic[]): { pods: PodSpecIn[]; services: ServiceIn[] } {
  const parsed = parseYaml(INGRESS_GATEWAY_YAML);
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
  out.push({ code: 'PP004', severity: 'info', message: `Gateway ${gw.namespace}/${gw.name} selects istio=ingressgateway: podpath adds Istio's default ingress gateway (Deployment and LoadBalancer Service istio-system/istio-ingressgateway, ports 80 → 8080 and 443 → 8443), as istioctl install creates it.`, ...gw.source });
  return { pods, services };
}
