import t from 'tap'
import { loadConfig } from '../../src/config.js'

t.test('API_HOSTS: host names or addresses, compared as a Host header carries them', async (t) => {
  t.same(loadConfig({}).apiHosts, [], 'none by default: PUBLIC_URL names the one own host')
  t.same(loadConfig({ API_HOSTS: 'api.smslinks.example' }).apiHosts, ['api.smslinks.example'])
  t.same(loadConfig({ API_HOSTS: ' API.SmsLinks.Example , 10.0.0.5,[::1] ' }).apiHosts, [
    'api.smslinks.example',
    '10.0.0.5',
    '[::1]',
  ])
  t.same(loadConfig({ API_HOSTS: 'smørrebrød.dk' }).apiHosts, ['xn--smrrebrd-64af.dk'], 'punycode')
  t.same(loadConfig({ API_HOSTS: '' }).apiHosts, [], 'empty counts as unset')
})

t.test('a bad API_HOSTS stops start-up with one line naming it and the bad entry', async (t) => {
  const cases: Array<[string, string]> = [
    ['https://api.smslinks.example', 'https://api.smslinks.example'],
    ['api.smslinks.example:8443', 'api.smslinks.example:8443'],
    ['api.smslinks.example/v1', 'api.smslinks.example/v1'],
    ['*.smslinks.example', '*.smslinks.example'],
    ['a.example,,b.example', ''],
    ['a.example,', ''],
    ['user@api.smslinks.example', 'user@api.smslinks.example'],
    ['api smslinks', 'api smslinks'],
    ['[::1]:80', '[::1]:80'],
  ]
  for (const [value, entry] of cases) {
    t.throws(
      () => loadConfig({ API_HOSTS: value }),
      {
        name: 'ConfigError',
        message: `API_HOSTS must be host names without scheme, port or path, separated by commas, such as api.example.com,10.0.0.5 (got ${JSON.stringify(entry)})`,
      },
      value,
    )
  }
})

t.test('METRICS_PORT and METRICS_HOST place the metrics listener; loopback by default', async (t) => {
  const defaults = loadConfig({})
  t.equal(defaults.metricsPort, 9464)
  t.equal(defaults.metricsHost, '127.0.0.1')
  t.equal(defaults.metricsToken, null)
  t.equal(loadConfig({ METRICS_PORT: 'off' }).metricsPort, null)
  t.equal(loadConfig({ METRICS_PORT: '0' }).metricsPort, 0)
  t.equal(loadConfig({ METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' }).metricsHost, '0.0.0.0')
  for (const value of ['abc', '70000', '-1', '9.5', 'on']) {
    t.throws(
      () => loadConfig({ METRICS_PORT: value }),
      { name: 'ConfigError', message: /^METRICS_PORT must be a whole number from 0 to 65535, or off/ },
      value,
    )
  }
})
