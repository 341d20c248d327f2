// Transport security between a client's Envoy and the upstream it connects to: what the client
// sends (DestinationRule trafficPolicy.tls, or Istio's automatic mutual TLS when the rule sets
// none) and what the server accepts (its sidecar's inbound filter chains, which PeerAuthentication
// decides; a pod without a sidecar speaks plain text only). When the two disagree the request
// fails, and how it fails is what Envoy reports.
// Sources: istio/api networking/v1alpha3/destination_rule.proto (ClientTLSSettings.TLSmode:
// DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL); istio/istio pilot/pkg/networking/core/cluster_tls.go
// (applyUpstreamTLSSettings, buildAutoMtlsSettings: with no TLS in the DestinationRule and
// meshConfig.enableAutoMtls on (the default) the cluster gets a transport socket match — ISTIO_MUTUAL
// for endpoints labelled tlsMode=istio, i.e. pods with a sidecar, plain text for the rest; a
// destination whose PeerAuthentication is DISABLE gets plain text); pilot/pkg/networking/core
// listener_inbound.go (STRICT: only TLS filter chains; DISABLE: only plain text; PERMISSIVE: both,
// told apart by the TLS inspector); Envoy's response flags UF (upstream connection failure — a
// failed TLS handshake is one) and UC (upstream connection termination) and its local reply body
// "upstream connect error or disconnect/reset before headers. reset reason: …".

import type { PodInfo, Topology } from '../types.ts';
import { gatewaysOf, peerAuthMode, type MeshDecision } from './routing.ts';

export type ClientTlsMode = 'DISABLE' | 'SIMPLE' | 'MUTUAL' | 'ISTIO_MUTUAL';

/** What the client's Envoy sends on its upstream connection, and why. */
export interface UpstreamTls {
  mode: ClientTlsMode;
  /** True when no DestinationRule chose: Istio's automatic mutual TLS decided. */
  auto: boolean;
  why: string;
}

/** A TLS ClientHello answered by plain HTTP, as BoringSSL reports it (seen in istio/istio#53368, #33208). */
const WRONG_VERSION = 'remote connection failure, transport failure reason: TLS_error:|268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end';

const MODES: readonly string[] = ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'];

/**
 * The client side. `ruleMode` is the DestinationRule's tls.mode (subset merged over the rule), `server`
 * the endpoint's pod when it is one.
 */
export function upstreamTls(t: Topology, ruleMode: string | undefined, server: PodInfo | undefined, rule?: string): UpstreamTls {
  if (ruleMode && MODES.includes(ruleMode)) {
    const what = { DISABLE: 'plain text', SIMPLE: 'TLS (one-way, with the server\'s certificate checked)', MUTUAL: 'mutual TLS with the certificates the rule names', ISTIO_MUTUAL: 'mutual TLS with the workload\'s Istio certificate' }[ruleMode as ClientTlsMode];
    return { mode: ruleMode as ClientTlsMode, auto: false, why: `DestinationRule ${rule ?? ''} sets tls.mode ${ruleMode}: the client's Envoy speaks ${what} to every endpoint, whatever the server accepts.` };
  }
  if (server && !server.sidecar && isGatewayProxy(t, server)) return { mode: 'ISTIO_MUTUAL', auto: true, why: `Automatic mutual TLS: ${server.name} is an Istio gateway, an Envoy with the mesh's certificates (its endpoint carries tlsMode=istio), so the client's Envoy uses mutual TLS.` };
  if (!server?.sidecar) return { mode: 'DISABLE', auto: true, why: `Automatic mutual TLS: the endpoint ${server ? `${server.name} has no sidecar` : 'is no pod of the mesh'} (no tlsMode=istio label), so the client's Envoy sends plain text.` };
  if (peerAuthMode(t, server) === 'DISABLE') return { mode: 'DISABLE', auto: true, why: `Automatic mutual TLS: ${server.name}'s PeerAuthentication is DISABLE, so the client's Envoy sends plain text.` };
  return { mode: 'ISTIO_MUTUAL', auto: true, why: `Automatic mutual TLS: ${server.name} has a sidecar (its endpoint carries tlsMode=istio), so the client's Envoy uses mutual TLS with its Istio certificate.` };
}

/** What the client's Envoy speaks to a routed request's server: the decision's DestinationRule tls (subset and port merged in), else automatic mTLS. */
export function routedTls(t: Topology, d: Pick<Extract<MeshDecision, { ok: true }>, 'trafficPolicy' | 'destinationRule'>, server: PodInfo | undefined): UpstreamTls {
  return upstreamTls(t, d.trafficPolicy?.tlsMode, server, d.destinationRule ? `${d.destinationRule.namespace}/${d.destinationRule.name}` : undefined);
}

/** An Istio gateway's own Envoy (istio=ingressgateway / egressgateway, or a Gateway selects it): it terminates mesh mTLS itself. */
export function isGatewayProxy(t: Topology, pod: PodInfo): boolean {
  return pod.labels.istio === 'ingressgateway' || pod.labels.istio === 'egressgateway' || gatewaysOf(t, pod.labels).length > 0;
}

/** How the server's side takes what the client sends: ok, or how the request fails and what the client's Envoy reports. */
export type TlsOutcome = { ok: true; why: string } | { ok: false; flag: 'UF' | 'UC'; reason: string; why: string };

export function serverAccepts(t: Topology, tls: UpstreamTls, server: PodInfo | undefined, viaSidecar: boolean): TlsOutcome {
  const tlsSent = tls.mode !== 'DISABLE';
  if (server && !server.sidecar && isGatewayProxy(t, server)) viaSidecar = true;
  if (!server) {
    // A server outside the mesh: podpath cannot see what it speaks; TLS origination (SIMPLE / MUTUAL) is taken to meet a TLS server.
    if (tls.mode === 'ISTIO_MUTUAL') return { ok: false, flag: 'UF', reason: WRONG_VERSION, why: 'ISTIO_MUTUAL towards a server outside the mesh: it has no Istio certificate to answer with, and the handshake fails (UF).' };
    return { ok: true, why: tls.mode === 'DISABLE' ? 'Plain text to the server outside the mesh.' : `The client's Envoy originates TLS (${tls.mode}) to the server outside the mesh: the app spoke plain HTTP, the wire carries TLS.` };
  }
  if (!viaSidecar) {
    if (!tlsSent) return { ok: true, why: 'Plain text to a server that speaks plain text.' };
    return { ok: false, flag: 'UF', reason: WRONG_VERSION, why: `The client's Envoy starts a TLS handshake (${tls.mode}), but ${server.name}'s app has no sidecar and speaks plain HTTP: it answers the ClientHello with something that is not TLS, the handshake fails, and Envoy counts a connection failure (response flag UF).` };
  }
  const pa = peerAuthMode(t, server);
  if (tls.mode === 'ISTIO_MUTUAL') {
    if (pa === 'DISABLE') return { ok: false, flag: 'UF', reason: WRONG_VERSION, why: `${server.name}'s PeerAuthentication is DISABLE: its inbound listener has plain-text filter chains only, so the client's mutual-TLS handshake gets no TLS answer and fails (UF).` };
    return { ok: true, why: `${server.name}'s sidecar terminates the mutual TLS (PeerAuthentication ${pa}) and checks the client's Istio certificate.` };
  }
  if (tls.mode === 'DISABLE') {
    // Istio's docs only say "503" here (ops/common-problems/network-issues); the server closes a
    // connection the client's Envoy already holds, which its router reports as "connection
    // termination", flag UC (router.cc streamResetReasonToResponseFlag).
    if (pa === 'STRICT') return { ok: false, flag: 'UC', reason: 'connection termination', why: `The client's Envoy sends plain text, but ${server.name}'s PeerAuthentication is STRICT: its inbound listener has TLS filter chains only, no chain matches, and it closes the connection. The client's Envoy sees the connection end before any response (UC).` };
    return { ok: true, why: `${server.name}'s sidecar accepts plain text (PeerAuthentication ${pa}).` };
  }
  // SIMPLE / MUTUAL: TLS with certificates that are not the mesh's.
  if (pa === 'DISABLE') return { ok: false, flag: 'UF', reason: WRONG_VERSION, why: `The client's Envoy starts a ${tls.mode} TLS handshake, but ${server.name}'s sidecar only takes plain text (PeerAuthentication DISABLE): the handshake fails (UF).` };
  return { ok: false, flag: 'UF', reason: WRONG_VERSION, why: `tls.mode ${tls.mode} originates TLS with certificates that are not the mesh's, for a server outside it: ${server.name}'s sidecar does not take it as Istio mutual TLS and hands it to an app that speaks plain HTTP, so the handshake fails (UF). Inside the mesh use ISTIO_MUTUAL, or leave tls unset.` };
}

/**
 * Envoy's local reply body for an upstream failure before any response (router.cc onUpstreamReset):
 * after retries it names the latest try's reason.
 */
export const upstreamFailureBody = (reason: string, retried = false) => `upstream connect error or disconnect/reset before headers. ${retried ? 'retried and the latest ' : ''}reset reason: ${reason}`;
