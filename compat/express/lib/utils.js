// Some of Express's tests reach into its internals as '../lib/utils'.
module.exports = require('express/lib/utils')
