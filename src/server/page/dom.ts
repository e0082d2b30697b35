/**
 * The few browser APIs the page touches, typed here: the project is type-checked as one program
 * without TypeScript's DOM library (its `Response` and `BodyInit` would replace Bun's for the
 * server code), so the browser code declares what it uses instead of pulling the DOM in globally.
 */

export interface PageEvent {
  readonly target: unknown;
  readonly key: string;
  preventDefault(): void;
}

/** An element, with the members of the few element kinds the page uses (input, button, anchor, cell). */
export interface PageElement {
  textContent: string | null;
  className: string;
  hidden: boolean;
  readonly dataset: Record<string, string | undefined>;
  readonly children: ArrayLike<PageElement>;
  readonly classList: { toggle(name: string, force?: boolean): boolean };
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  removeAttribute(name: string): void;
  append(...nodes: (PageElement | string)[]): void;
  replaceChildren(...nodes: (PageElement | string)[]): void;
  insertBefore(node: PageElement, before: PageElement | null): void;
  remove(): void;
  closest(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  addEventListener(type: string, listener: (event: PageEvent) => void): void;
  focus(options?: { preventScroll?: boolean }): void;
  /** Inputs and buttons. */
  value: string;
  disabled: boolean;
  /** Buttons. */
  type: string;
  /** Anchors. */
  href: string;
  /** Header cells. */
  scope: string;
}

interface PageDocument {
  readonly documentElement: PageElement;
  readonly body: PageElement;
  readonly hidden: boolean;
  getElementById(id: string): PageElement | null;
  createElement(tag: string): PageElement;
  addEventListener(type: string, listener: () => void): void;
}

interface PageWindow {
  __ci?: unknown;
  getComputedStyle(element: PageElement): { getPropertyValue(name: string): string; readonly fontFamily: string };
}

const browser = globalThis as unknown as { document: PageDocument; window: PageWindow };

export const page = {
  document: (): PageDocument => browser.document,
  window: (): PageWindow => browser.window,
};

/** An element the template must have (the page is broken without it, so fail loudly). */
export function byId(id: string): PageElement {
  const element = browser.document.getElementById(id);
  if (!element) throw new Error(`status page: no #${id} in the template`);
  return element;
}

/** A new element with a class and text. */
export function make(tag: string, className = "", text = ""): PageElement {
  const element = browser.document.createElement(tag);
  if (className) element.className = className;
  if (text) element.textContent = text;
  return element;
}
