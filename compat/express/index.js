// Express's tests require the package under test as '../'; it is the released express, at the
// version the tests were taken from.
module.exports = require('express')
