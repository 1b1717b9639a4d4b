/**
 * `Symbol.dispose` for contexts that lack it. Node 20 defines it as `Symbol.for('nodejs.dispose')`
 * in the main context only; vm contexts (Jest's test environment among them) have none, and a
 * class method keyed by an undefined symbol would be named "undefined". Defining the same
 * registered symbol keeps kring's `[Symbol.dispose]` identical to Node's everywhere.
 * @internal
 * @packageDocumentation
 */
const S = Symbol as unknown as { dispose?: symbol; asyncDispose?: symbol };
if (typeof S.dispose !== 'symbol') Object.defineProperty(Symbol, 'dispose', { value: Symbol.for('nodejs.dispose') });
if (typeof S.asyncDispose !== 'symbol') Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('nodejs.asyncDispose') });

export {};
