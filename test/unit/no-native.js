// The unit tier runs without kring's native addon: jest maps the addon to this stand-in for
// test/unit (jest.config.js). Only the page size answers (option validation needs it); any other
// native call throws, so a unit test that reaches the kernel fails: it belongs in test/integration.
'use strict';
const answers = { krInit() {}, krPageSize: () => 4096 };
module.exports = new Proxy(answers, {
  get(target, key) {
    if (key in target) return target[key];
    if (typeof key !== 'string' || !(key.startsWith('kr') || key === 'Poller')) return undefined;
    return () => {
      throw new Error(`the unit tier has no native addon: ${key}() was called (this test belongs in test/integration)`);
    };
  },
});
