/**
 * A few DOM helpers: the page builds its elements with these, never with
 * innerHTML, so no served text is ever markup.
 */
type Child = Node | string | undefined;
type Attributes = Record<string, string | undefined>;

export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, value);
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

const svgNamespace = 'http://www.w3.org/2000/svg';

export function svgElement(
  tag: string,
  attributes: Record<string, string | number> = {},
  ...children: Child[]
): SVGElement {
  const node = document.createElementNS(svgNamespace, tag) as SVGElement;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  for (const child of children) if (child !== undefined) node.append(child);
  return node;
}

/** Replaces the children of the element with the given id. */
export function fill(id: string, ...children: Child[]): HTMLElement {
  const target = document.getElementById(id);
  if (target === null) throw new Error(`The page has no element #${id}.`);
  target.replaceChildren(...children.filter((child): child is Node | string => child !== undefined));
  return target;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
