// The unit tier's stand-in for node-gyp-build (jest.config.js): it "loads" test/unit/no-native.js.
'use strict';
module.exports = () => require('./no-native.js');
