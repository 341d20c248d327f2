// The layout the worker computes and the diagram draws: absolute boxes keyed by diagram element id
// (ids from src/engine/ids.ts). Plain data so it crosses the Worker boundary as is.

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Which side of a node group faces the node network (its eth0 sits on that edge). */
export type NetSide = 'top' | 'bottom';

export interface Layout {
  /** Absolute position and size of every element id that the diagram draws. */
  boxes: Record<string, Box>;
  /** For each k8s node element id, the side its eth0 faces. */
  netSide: Record<string, NetSide>;
  width: number;
  height: number;
}
