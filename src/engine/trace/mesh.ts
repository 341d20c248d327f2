// The Istio sidecar data path: the pod's capture rules (istio-iptables) redirect the app's
// connection to its Envoy (15001); Envoy routes the HTTP request (mesh/routing.ts) and opens its own
// connection to the chosen endpoint's pod IP — as UID 1337, which the rules let through, and
// without a ClusterIP, so kube-proxy's DNAT is never on this path; at the server pod the rules
// redirect the arriving connection to its Envoy's inbound listener (15006), which hands the request
// to the app from 127.0.0.6.
// Sources: istio/istio tools/istio-iptables/pkg/capture/run.go (the rules), pilot/pkg/networking/core
// (listeners virtualOutbound 0.0.0.0:15001 and virtualInbound 0.0.0.0:15006 with original-destination
// handling, per-port HTTP listeners and route configurations "<port>", inbound clusters
// "inbound|<port>||", InboundPassthroughBindIpv4 127.0.0.6), security: automatic mutual TLS between
// sidecars (PeerAuthentication default PERMISSIVE); Envoy's request headers (x-request-id,
// x-forwarded-proto, x-envoy-attempt-count, x-forwarded-client-cert) and response headers
// (server: istio-envoy, x-envoy-upstream-service-time).

import type { GatewayInfo, Hop, NodeInfo, Packet, PodInfo, RuleStep, Verdict } from '../types.ts';
import { ids } from '../ids.ts';
import { captureRulesets, walkPodFlow, type CaptureOutcome, type CaptureRulesets } from '../istio/captureWalk.ts';
import { sidecarCaptureConfig } from '../istio/captureRules.ts';
import { gatewaysOf, peerAuthMode, routeRequest, type MeshDecision, type MeshRequest } from '../mesh/routing.ts';
import { httpSegment, ip, setAddresses, tcp, tcpSegment } from '../packet/packet.ts';
import { fnv1a32 } from '../util/hash.ts';
import { routedTls, serverAccepts, upstreamFailureBody, type TlsOutcome, type UpstreamTls } from '../mesh/tls.ts';
import type { Walk } from './walk.ts';

export const CITE_CAPTURE = 'istio/istio tools/istio-iptables/pkg/capture/run.go';
export const CITE_TLS = 'istio/istio pilot/pkg/networking/core/cluster_tls.go (auto mTLS, DestinationRule tls), listener_inbound.go (PeerAuthentication filter chains); envoyproxy/envoy response flags UF / UC';
export const CITE_ENVOY = 'istio/istio pilot/pkg/networking/core (listeners 15001 / 15006, route configuration per port, clusters); envoyproxy/envoy router';
/** The application's processes: any UID but the proxy's 1337 (the capture rules only ask "is it 1337?"). */
const APP_UID = 1000;

function rulesOf(w: Walk, pod: PodInfo): CaptureRulesets {
  let r = w.meshRules.get(pod.id);
  if (!r) w.meshRules.set(pod.id, (r = captureRulesets(sidecarCaptureConfig({ annotations: pod.sidecar?.captureAnnotations ?? {}, podIPs: [pod.ip] }))));
  return r;
}

const interfacesOf = (pod: PodInfo) => ({ lo: ['127.0.0.1'], eth0: [pod.ip] });

/** "nat OUTPUT → ISTIO_OUTPUT → ISTIO_REDIRECT" from the jumps that fired. */
function path(hook: string, steps: RuleStep[]): string {
  const jumps = steps.filter((s) => s.matched && s.effect.includes('jump ')).map((s) => s.effect.slice(s.effect.indexOf('jump ') + 5));
  const tables = [...new Set(steps.filter((s) => s.matched).map((s) => s.table))];
  return `${tables.includes('mangle') ? 'mangle/' : ''}nat ${[hook, ...jumps].join(' → ')}`;
}

function outcomeText(o: CaptureOutcome): string {
  return o.captured ? `${o.result} → port ${o.toPort ?? ''}` : o.result === 'RETURN' ? 'RETURN (not captured)' : `${o.result} (no Istio rule took it)`;
}

/**
 * The app of a sidecar pod connects: its SYN meets the pod's nat OUTPUT rules. Captured, the
 * connection goes to Envoy, which routes the request and connects upstream itself. Returns the
 * packet that leaves the pod, or how the flow ended inside the pod.
 */
export function meshOutbound(w: Walk, client: PodInfo, node: NodeInfo, syn: Packet, http: MeshRequest, dstMacFor: (ip: string) => string): { packet: Packet } | { verdict: Exclude<Verdict, { kind: 'delivered' }> } {
  const at = ids.sidecar(client.id);
  const o = walkPodFlow(rulesOf(w, client), { direction: 'outbound', proto: 'tcp', src: ip(syn).src, sport: tcp(syn).srcPort, dst: ip(syn).dst, dport: tcp(syn).dstPort, uid: APP_UID, gid: APP_UID }, interfacesOf(client));
  if (!o.captured) {
    w.add(at, node.name, { kind: 'netfilter', title: `pod ${client.name}: ${path('OUTPUT', o.walk.steps)}: ${outcomeText(o)} — the sidecar does not see this connection`, detail: `The istio-init rules in the pod's network namespace let this connection out as it is (${o.result}); Envoy never sees it, so no VirtualService applies.`, rules: o.walk.steps, cite: CITE_CAPTURE }, syn, syn);
    return { packet: syn };
  }
  const redirected = setAddresses(syn, { dst: '127.0.0.1', dport: o.toPort! });
  w.add(at, node.name, { kind: 'netfilter', title: `pod ${client.name}: ${path('OUTPUT', o.walk.steps)}: REDIRECT → 127.0.0.1:${o.toPort}`, detail: `${client.name} has an istio-proxy sidecar (${client.sidecar!.reason}). The istio-init rules in the pod's own network namespace catch the app's connection in nat OUTPUT (the app does not run as UID 1337) and REDIRECT it to port ${o.toPort} on the loopback address: Envoy's outbound listener. conntrack remembers the original destination ${ip(syn).dst}:${tcp(syn).dstPort}, which Envoy reads back (SO_ORIGINAL_DST).`, rules: o.walk.steps, cite: CITE_CAPTURE }, syn, redirected);

  const d = routeRequest(w.t, { kind: 'sidecar', pod: client }, http, w.rng);
  const appReq = httpSegment({ srcMac: client.mac, dstMac: client.mac, src: client.ip, dst: ip(syn).dst, sport: tcp(syn).srcPort, dport: tcp(syn).dstPort, seq: (tcp(syn).seq + 1) >>> 0, ack: 1, firstLine: `${http.method} ${http.path} HTTP/1.1`, headers: [['host', `${http.host}:${http.port}`], ['user-agent', 'curl/8.5.0'], ['accept', '*/*'], ...Object.entries(http.headers)] });
  const listener = http.tcp
    ? `Envoy's virtualOutbound listener (0.0.0.0:15001) accepts the connection and hands it, by its original destination, to the listener ${ip(syn).dst}_${tcp(syn).dstPort}: port ${http.port} carries TCP (its Service port's name says so), so its tcp_proxy filter routes the connection itself — Envoy reads no HTTP, and no http route, fault, retry or timeout applies.`
    : `Envoy's virtualOutbound listener (0.0.0.0:15001) accepts the connection and hands it, by its original destination ${ip(syn).dst}:${tcp(syn).dstPort}, to the listener for port ${http.port} (0.0.0.0_${http.port}); its HTTP connection manager reads the request and looks it up in route configuration "${http.port}".`;
  if (!d.ok && http.tcp) {
    w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${client.name}): tcp_proxy has no upstream (${d.flag}) — connection closed`, detail: `${listener} ${d.why.join(' ')} With no cluster or endpoint to connect to, tcp_proxy closes the app's connection.`, cite: CITE_ENVOY }, redirected, redirected);
    return { verdict: { kind: 'rejected', at, message: `Connection closed by ${client.name}'s sidecar (${d.flag}): ${d.why[d.why.length - 1]}` } };
  }
  if (!d.ok || d.fault.abortStatus) {
    const status = d.ok ? d.fault.abortStatus! : d.status;
    const flag = d.ok ? 'FI' : d.flag;
    const resp = httpSegment({ srcMac: client.mac, dstMac: client.mac, src: ip(syn).dst, dst: client.ip, sport: tcp(syn).dstPort, dport: tcp(syn).srcPort, seq: 1, ack: (tcp(syn).seq + 1) >>> 0, firstLine: `HTTP/1.1 ${status} ${statusText(status)}`, headers: [['content-length', '0'], ['date', 'Wed, 25 Nov 2026 00:00:00 GMT'], ['server', 'envoy']] });
    w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${client.name}): ${status} ${flag} — answered by the client's own sidecar`, detail: `${listener} ${d.why.join(' ')} Envoy answers the app itself with HTTP ${status} (response flag ${flag}); no packet leaves the pod.`, cite: CITE_ENVOY }, appReq, resp);
    return { verdict: { kind: 'rejected', at, message: `HTTP ${status} (${flag}) from ${client.name}'s sidecar: ${d.why[d.why.length - 1]}` } };
  }
  const e = d.endpoint;
  const tls = tlsFor(w, d);
  const sport = w.rng.int(32768, 60999);
  const up = tcpSegment({ srcMac: client.mac, dstMac: dstMacFor(e.ip), src: client.ip, dst: e.ip, sport, dport: e.port, flags: ['SYN'], seq: w.rng.int(0, 0xffffffff), ack: 0, mtu: w.t.settings.cni.mtu });
  w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${client.name}): ${http.tcp ? `TCP ${http.host}:${http.port}` : `${http.method} ${http.host}:${http.port}${http.path}`} → ${d.cluster} → ${e.ip}:${e.port}`, detail: `${listener} ${d.why.join(' ')}${d.fault.delayMs ? ` The fault filter holds the request ${d.fault.delayMs / 1000} s before forwarding it.` : ''} Envoy now opens its own connection to ${e.ip}:${e.port} — ${e.podId ? 'a pod address' : 'the endpoint itself'}, so kube-proxy's ClusterIP DNAT is not on this path. ${tls.why}`, cite: CITE_ENVOY }, http.tcp ? redirected : appReq, up);
  if (d.mirror) w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${client.name}): mirror → ${d.mirror.cluster} (authority ${d.mirror.authority}), answer discarded`, detail: `The route's mirror policy sends a copy of the request to ${d.mirror.cluster} as well, with "-shadow" added to the authority so the copy can be told apart. Envoy does not wait for the copy and throws its response away: the client only ever sees the primary's answer.`, cite: 'istio/istio pilot/pkg/networking/core/route (mirror → request_mirror_policies); envoyproxy/envoy RouteAction.RequestMirrorPolicy' }, appReq, appReq);
  const o2 = walkPodFlow(rulesOf(w, client), { direction: 'outbound', proto: 'tcp', src: client.ip, sport, dst: e.ip, dport: e.port, uid: client.sidecar!.proxyUid, gid: client.sidecar!.proxyGid }, interfacesOf(client));
  w.add(at, node.name, { kind: 'netfilter', title: `pod ${client.name}: ${path('OUTPUT', o2.walk.steps)}: ${outcomeText(o2)} (Envoy is UID ${client.sidecar!.proxyUid})`, detail: `Envoy's own connection meets the same rules, but "-m owner --uid-owner ${client.sidecar!.proxyUid} -j RETURN" lets the proxy's traffic out uncaptured — otherwise it would loop back into itself.`, rules: o2.walk.steps, cite: CITE_CAPTURE }, up, up);
  w.mesh = { request: http, decision: d, appPacket: http.tcp ? redirected : appReq, tls };
  return { packet: up };
}

/** What the client's Envoy speaks to the decision's endpoint. */
function tlsFor(w: Walk, d: Extract<MeshDecision, { ok: true }>): UpstreamTls {
  return routedTls(w.t, d, d.endpoint.podId ? w.t.nodes.flatMap((n) => n.pods).find((p) => p.id === d.endpoint.podId) : undefined);
}

/** The PeerAuthentication mode for a workload (mesh/routing.ts). */
export const peerAuthModeOf = (w: Walk, pod: PodInfo) => peerAuthMode(w.t, pod);

/**
 * A connection reaches a sidecar pod: nat PREROUTING's ISTIO_INBOUND redirects it to Envoy's
 * inbound listener (15006). Returns whether it was captured (the hop is added either way).
 */
export function meshInbound(w: Walk, node: NodeInfo, pod: PodInfo, p: Packet): boolean | Exclude<Verdict, { kind: 'delivered' }> {
  const at = ids.sidecar(pod.id);
  const o = walkPodFlow(rulesOf(w, pod), { direction: 'inbound', proto: 'tcp', src: ip(p).src, sport: tcp(p).srcPort, dst: ip(p).dst, dport: tcp(p).dstPort, iif: 'eth0' }, interfacesOf(pod));
  if (!o.captured) {
    w.add(at, node.name, { kind: 'netfilter', title: `pod ${pod.name}: ${path('PREROUTING', o.walk.steps)}: ${outcomeText(o)} — straight to the app`, detail: `The capture rules do not take port ${tcp(p).dstPort} in: the app gets the connection without its sidecar.`, rules: o.walk.steps, cite: CITE_CAPTURE }, p, p);
    return false;
  }
  const redirected = setAddresses(p, { dport: o.toPort! });
  w.add(at, node.name, { kind: 'netfilter', title: `pod ${pod.name}: ${path('PREROUTING', o.walk.steps)}: REDIRECT → ${pod.ip}:${o.toPort}`, detail: `The connection arrives in ${pod.name}'s network namespace, and the istio-init rules in nat PREROUTING redirect it to port ${o.toPort}: Envoy's inbound listener. The app's port ${tcp(p).dstPort} is only reached through Envoy.`, rules: o.walk.steps, cite: CITE_CAPTURE }, p, redirected);
  w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${pod.name}) inbound: virtualInbound 0.0.0.0:${o.toPort} accepts the connection for port ${tcp(p).dstPort}`, detail: `Envoy's inbound listener picks the filter chain for the original destination port ${tcp(p).dstPort}${w.mesh ? (w.mesh.tls.mode === 'DISABLE' ? `; the client's Envoy sends plain text (${w.mesh.tls.auto ? 'automatic mTLS' : 'its DestinationRule'}), which PeerAuthentication ${peerAuthModeOf(w, pod)} ${peerAuthModeOf(w, pod) === 'STRICT' ? 'has no filter chain for' : 'accepts'}` : ` for the ${w.mesh.tls.mode} TLS the client's Envoy starts (PeerAuthentication ${peerAuthModeOf(w, pod)})`) : `; the client has no sidecar, so the connection is plain text, which PeerAuthentication ${peerAuthModeOf(w, pod)} ${peerAuthModeOf(w, pod) === 'STRICT' ? 'refuses' : 'accepts'}`}. It will forward requests to the app through cluster inbound|${tcp(p).dstPort}||, connecting from 127.0.0.6.`, cite: CITE_ENVOY }, redirected, redirected);
  if (!w.mesh && peerAuthModeOf(w, pod) === 'STRICT') {
    w.add(at, node.name, { kind: 'envoy', title: `istio-proxy (${pod.name}): PeerAuthentication STRICT — plain text refused, connection reset`, detail: `The client has no sidecar, so its connection carries no Istio mutual TLS. A PeerAuthentication in mode STRICT applies to ${pod.name}, so the inbound listener has only the mTLS filter chain: the handshake fails and Envoy resets the connection. The app never sees the request.`, cite: 'istio/api security/v1beta1/peer_authentication.proto; istio/istio pilot/pkg/networking/core (inbound filter chains)' }, redirected, redirected);
    return { kind: 'rejected', at, message: `Connection reset by ${pod.name}'s sidecar: mTLS is STRICT and the client sent plain text (it has no sidecar).` };
  }
  if (w.mesh) w.mesh.inboundCaptured = true;
  return true;
}

/** The HTTP exchange on the established connections: the request through both proxies to the app, and the response back — or the TLS mismatch that ends it. */
export function meshExchange(w: Walk, client: PodInfo, server: PodInfo, clientAt = ids.sidecar(client.id)): { ok: boolean; status: number; message: string } {
  const m = w.mesh!;
  const d = m.decision;
  const cnode = client.node;
  const snode = server.node;
  const viaSidecar = !!server.sidecar && !!m.inboundCaptured;
  const rid = `${(fnv1a32(`${client.id}|${server.id}|${w.hops.length}`) >>> 0).toString(16).padStart(8, '0')}-${(w.rng.int(0, 0xffff)).toString(16).padStart(4, '0')}-4${(w.rng.int(0, 0xfff)).toString(16).padStart(3, '0')}-a${(w.rng.int(0, 0xfff)).toString(16).padStart(3, '0')}-${(w.rng.int(0, 0xffffffff)).toString(16).padStart(12, '0')}`;
  // TLS first: what the client's Envoy speaks must be what the server side accepts (mesh/tls.ts).
  const accept = serverAccepts(w.t, m.tls, server, viaSidecar);
  if (m.request.tcp) return tcpExchange(w, client, server, clientAt, viaSidecar, accept);
  const firstLine = (m.appPacket.headers[3] as { firstLine: string }).firstLine;
  const appHeaders = (m.appPacket.headers[3] as { headers: [string, string][] }).headers;
  const upstream = httpSegment({ srcMac: client.mac, dstMac: server.mac, src: client.ip, dst: d.endpoint.ip, sport: 40000, dport: d.endpoint.port, seq: 1, ack: 1, firstLine, headers: [...appHeaders, ['x-forwarded-proto', 'http'], ['x-request-id', rid], ['x-envoy-attempt-count', '1'], ['x-envoy-decorator-operation', `${d.service ? `${d.service.name}.${d.service.namespace}.svc.${w.t.settings.clusterDomain}` : d.destination.host}:${d.port}/*`]] });
  const isApp = clientAt === ids.sidecar(client.id);
  const reply = (status: number, headers: [string, string][]) => httpSegment({ srcMac: client.mac, dstMac: client.mac, src: (m.appPacket.headers[1] as { dst: string }).dst, dst: client.ip, sport: m.request.port, dport: tcp(m.appPacket).srcPort, seq: 1, ack: 1, firstLine: `HTTP/1.1 ${status} ${statusText(status)}`, headers });
  w.direction = 'request';

  if (!accept.ok) {
    w.add(clientAt, cnode, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${server.name}: ${m.tls.mode === 'DISABLE' ? 'plain-text request' : `TLS ClientHello (${m.tls.mode})`}`, detail: `${m.tls.why} On the connection just set up it ${m.tls.mode === 'DISABLE' ? 'sends the request in plain text' : 'starts the TLS handshake'}.`, cite: CITE_TLS }, m.appPacket, m.tls.mode === 'DISABLE' ? upstream : m.appPacket);
    serverRefuses(w, server, viaSidecar, accept, upstream);
    w.direction = 'reply';
    const body = upstreamFailureBody(accept.reason, accept.flag === 'UF');
    const local = reply(503, [['content-length', String(body.length)], ['content-type', 'text/plain'], ['server', 'envoy']]);
    w.add(clientAt, cnode, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${isApp ? 'app' : 'client'}: HTTP 503 (${accept.flag})`, detail: `The client's Envoy gets no response on its upstream connection and answers ${isApp ? 'the app' : 'the client'} itself: 503 with the body "${body}" (response flag ${accept.flag}).${accept.flag === 'UF' ? ' Istio\'s default retry policy retries connection failures twice; every try fails the same way.' : ''}`, cite: CITE_TLS }, local, local);
    return { ok: false, status: 503, message: `HTTP 503 (${accept.flag}) from ${client.name}'s ${isApp ? 'sidecar' : 'Envoy'}: ${body}. ${accept.why}` };
  }

  w.add(clientAt, cnode, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${server.name}: the request${m.tls.mode === 'DISABLE' ? ', in plain text' : `, inside ${m.tls.mode === 'ISTIO_MUTUAL' ? 'mutual TLS' : 'TLS'}`}`, detail: `On the connection just set up, the client's Envoy sends the request it routed. It adds x-request-id (the trace id every proxy keeps), x-forwarded-proto and x-envoy-attempt-count${m.tls.mode === 'DISABLE' ? '. ' : ', and encrypts the whole exchange (shown here in clear). '}${m.tls.why}`, cite: CITE_ENVOY }, m.appPacket, upstream);
  let toApp: Packet;
  if (viaSidecar) {
    toApp = httpSegment({ srcMac: server.mac, dstMac: server.mac, src: '127.0.0.6', dst: server.ip, sport: 41000, dport: d.endpoint.port, seq: 1, ack: 1, firstLine, headers: [...(upstream.headers[3] as { headers: [string, string][] }).headers, ...(m.tls.mode === 'ISTIO_MUTUAL' ? [['x-forwarded-client-cert', `By=spiffe://cluster.local/ns/${server.namespace}/sa/default;URI=spiffe://cluster.local/ns/${client.namespace}/sa/default`] as [string, string]] : [])] });
    w.add(ids.sidecar(server.id), snode, { kind: 'envoy', title: `istio-proxy (${server.name}) → app: from 127.0.0.6 to ${server.ip}:${d.endpoint.port}`, detail: `The server's Envoy ${m.tls.mode === 'ISTIO_MUTUAL' ? 'decrypts the request, adds x-forwarded-client-cert (the client\'s SPIFFE identity from its certificate) and passes' : 'passes'} it to the app through cluster inbound|${d.endpoint.port}||, connecting from 127.0.0.6 — an address the capture rules return on, so this hop is not captured again.`, cite: CITE_ENVOY }, upstream, toApp);
  } else toApp = upstream;
  w.add(ids.podEth0(server.id), snode, { kind: 'deliver', title: `${server.name} gets ${firstLine}`, detail: viaSidecar ? `The app sees the request coming from 127.0.0.6: the sidecar, not the client.${m.tls.mode === 'ISTIO_MUTUAL' ? " The client's identity is in x-forwarded-client-cert." : ''}` : `${server.name} ${server.sidecar ? 'has a sidecar, but its capture rules let this port through' : 'has no sidecar'}: the app gets the request straight from the client's Envoy (${client.ip}).` }, toApp, toApp);
  const took = 2 + (fnv1a32(rid) % 7);
  const elapsed = took + (d.fault.delayMs ?? 0);
  w.direction = 'reply';
  const resp = reply(200, [['content-type', 'text/html; charset=utf-8'], ['server', 'envoy'], ['x-envoy-upstream-service-time', String(elapsed)]]);
  w.add(clientAt, cnode, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${isApp ? 'app' : 'client'}: HTTP 200 from ${d.cluster}${d.fault.delayMs ? ` after the injected ${d.fault.delayMs / 1000} s delay` : ''}`, detail: `The app's response comes back${viaSidecar ? ' through both proxies' : ''}. The client's Envoy returns it on the app's original connection (the app still believes it talks to ${m.request.host}:${m.request.port}), with server: envoy and x-envoy-upstream-service-time: ${elapsed} (ms Envoy waited for the upstream${d.fault.delayMs ? ', including the fault delay' : ''}).`, cite: CITE_ENVOY }, resp, resp);
  return { ok: true, status: 200, message: `HTTP 200: ${client.name}'s sidecar routed ${m.request.method} ${m.request.host}:${m.request.port}${m.request.path} to ${d.cluster}${d.virtualService ? ` (VirtualService ${d.virtualService.namespace}/${d.virtualService.name}, route ${d.route?.index})` : ''}, endpoint ${server.name} ${d.endpoint.ip}:${d.endpoint.port}.` };
}

/** The server's side refuses what the client's Envoy speaks: its sidecar finds no filter chain, or the handshake fails. */
function serverRefuses(w: Walk, server: PodInfo, viaSidecar: boolean, accept: Extract<TlsOutcome, { ok: false }>, p: Packet) {
  w.add(viaSidecar ? ids.sidecar(server.id) : ids.podEth0(server.id), server.node, { kind: viaSidecar ? 'envoy' : 'deliver', title: `${viaSidecar ? `istio-proxy (${server.name})` : server.name}: ${accept.flag === 'UC' ? 'no filter chain matches — connection closed' : 'handshake fails'}`, detail: accept.why, cite: CITE_TLS }, p, p);
}

/** A TCP connection through both proxies: tcp_proxy relays bytes; there is no request to read or answer. */
function tcpExchange(w: Walk, client: PodInfo, server: PodInfo, clientAt: string, viaSidecar: boolean, accept: TlsOutcome): { ok: boolean; status: number; message: string } {
  const m = w.mesh!;
  const d = m.decision;
  const data = (src: string, dst: string, sport: number, dport: number, mac: string) => tcpSegment({ srcMac: mac, dstMac: mac, src, dst, sport, dport, flags: ['PSH', 'ACK'], seq: 1, ack: 1 });
  const upstream = data(client.ip, d.endpoint.ip, 40000, d.endpoint.port, client.mac);
  if (!accept.ok) {
    serverRefuses(w, server, viaSidecar, accept, upstream);
    return { ok: false, status: 0, message: `Connection closed by ${client.name}'s sidecar (${accept.flag}): its upstream connection failed — ${accept.why}` };
  }
  w.add(clientAt, client.node, { kind: 'envoy', title: `istio-proxy (${client.name}) → ${server.name}: the connection's bytes${m.tls.mode === 'DISABLE' ? ', in plain text' : ', inside mutual TLS'}`, detail: `tcp_proxy copies whatever the app writes onto its upstream connection to ${d.endpoint.ip}:${d.endpoint.port}, and back. ${m.tls.why}`, cite: CITE_ENVOY }, m.appPacket, upstream);
  let toApp = upstream;
  if (viaSidecar) {
    toApp = data('127.0.0.6', server.ip, 41000, d.endpoint.port, server.mac);
    w.add(ids.sidecar(server.id), server.node, { kind: 'envoy', title: `istio-proxy (${server.name}) → app: from 127.0.0.6 to ${server.ip}:${d.endpoint.port} (tcp_proxy)`, detail: `The server's Envoy ${m.tls.mode === 'ISTIO_MUTUAL' ? 'terminates the mutual TLS and ' : ''}relays the bytes to the app through cluster inbound|${d.endpoint.port}||, connecting from 127.0.0.6.`, cite: CITE_ENVOY }, upstream, toApp);
  }
  w.add(ids.podEth0(server.id), server.node, { kind: 'deliver', title: `${server.name} gets the connection's bytes on port ${d.endpoint.port}`, detail: viaSidecar ? 'The app sees a connection from 127.0.0.6: the sidecar, not the client.' : `The app gets the bytes straight from the client's Envoy (${client.ip}).` }, toApp, toApp);
  w.direction = 'reply';
  return { ok: true, status: 0, message: `TCP: ${client.name}'s sidecar proxied the connection to ${d.cluster}${d.virtualService ? ` (VirtualService ${d.virtualService.namespace}/${d.virtualService.name}, tcp route ${d.route?.index ?? '-'})` : ''}, endpoint ${server.name} ${d.endpoint.ip}:${d.endpoint.port}.` };
}

function statusText(s: number): string {
  return ({ 200: 'OK', 404: 'Not Found', 500: 'Internal Server Error', 503: 'Service Unavailable', 504: 'Gateway Timeout', 400: 'Bad Request', 403: 'Forbidden' } as Record<number, string>)[s] ?? 'Error';
}

export type { Hop };

/** "egress" for Istio's egress gateway (istio=egressgateway), else "ingress". */
export const gatewayKind = (gw: PodInfo) => (gw.labels.istio === 'egressgateway' ? 'egress' : 'ingress');

/** Is this pod an Istio gateway's Envoy (a Gateway object selects it)? */
export function gatewayFor(w: Walk, pod: PodInfo): GatewayInfo | undefined {
  return gatewaysOf(w.t, pod.labels)[0];
}

/**
 * The gateway's Envoy received a request: its Gateway servers and the VirtualServices bound to
 * them pick the route, and it connects upstream itself. Returns the upstream SYN, or how it ended.
 */
export function gatewayRoute(w: Walk, gw: PodInfo, seen: Packet, http: MeshRequest, dstMacFor: (ip: string) => string): { packet: Packet } | { verdict: Exclude<Verdict, { kind: 'delivered' }> } {
  const at = ids.pod(gw.id);
  const d = routeRequest(w.t, { kind: 'gateway', namespace: gw.namespace, labels: gw.labels }, http, w.rng);
  const clientReq = httpSegment({ srcMac: gw.mac, dstMac: gw.mac, src: ip(seen).src, dst: gw.ip, sport: tcp(seen).srcPort, dport: tcp(seen).dstPort, seq: 1, ack: 1, firstLine: `${http.method} ${http.path} HTTP/1.1`, headers: [['host', http.host], ['user-agent', 'curl/8.5.0'], ['accept', '*/*'], ...Object.entries(http.headers).filter(([k]) => k !== 'host')] });
  if (!d.ok || d.fault.abortStatus) {
    const status = d.ok ? d.fault.abortStatus! : d.status;
    const flag = d.ok ? 'FI' : d.flag;
    w.add(at, gw.node, { kind: 'envoy', title: `${gw.name} (${gatewayKind(gw)} gateway): ${status} ${flag} for ${http.method} ${http.host}${http.path}`, detail: `The gateway's Envoy listens on port ${http.port} for its Gateway servers. ${d.why.join(' ')}`, cite: CITE_ENVOY }, clientReq, clientReq);
    return { verdict: { kind: 'rejected', at, message: `HTTP ${status} (${flag}) from the ${gatewayKind(gw)} gateway ${gw.name}: ${d.why[d.why.length - 1]}` } };
  }
  const e = d.endpoint;
  const tls = tlsFor(w, d);
  const up = tcpSegment({ srcMac: gw.mac, dstMac: dstMacFor(e.ip), src: gw.ip, dst: e.ip, sport: w.rng.int(32768, 60999), dport: e.port, flags: ['SYN'], seq: w.rng.int(0, 0xffffffff), ack: 0, mtu: w.t.settings.cni.mtu });
  w.add(at, gw.node, { kind: 'envoy', title: `${gw.name} (${gatewayKind(gw)} gateway): ${http.method} ${http.host}${http.path} → ${d.cluster} → ${e.ip}:${e.port}`, detail: `The client's connection ends at the gateway's Envoy (it is the gateway's own listener 0.0.0.0_${http.port}, no capture rules: the gateway is a standalone proxy, not a sidecar), which looks the request up in route configuration "http.${http.port}". ${d.why.join(' ')} The gateway connects to ${e.podId ? 'the pod' : 'the endpoint'} itself. ${tls.why}`, cite: CITE_ENVOY }, clientReq, up);
  w.mesh = { request: http, decision: d, appPacket: clientReq, tls };
  return { packet: up };
}
