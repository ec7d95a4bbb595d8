import t from 'tap'
import {
  admin,
  captureLogs,
  createTenant,
  csrfToken,
  form,
  json,
  OWN_HOST,
  setCookies,
  signIn,
  startWithTenant,
  testClock,
} from '../helpers.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('a page asks for sign-in first, and brings the visitor back after it', async (t) => {
  const { app, key } = await startWithTenant(t)
  const page = await app.inject({ url: '/dashboard/overview', headers: { host: OWN_HOST } })
  t.equal(page.statusCode, 303)
  t.equal(page.headers.location, '/dashboard/sign-in?next=%2Fdashboard%2Foverview')

  const signInPage = await app.inject({ url: page.headers.location as string, headers: { host: OWN_HOST } })
  t.equal(signInPage.statusCode, 200)
  t.match(signInPage.body, /<input[^>]+name="apiKey"/, 'the form posts a field named apiKey')
  t.match(signInPage.body, /name="next" value="\/dashboard\/overview"/)
  const csrf = setCookies(signInPage).get('smslinks_csrf')!
  t.match(csrf, /; Path=\/dashboard/, 'the CSRF cookie goes only to the dashboard')
  t.match(csrf, /; HttpOnly/)
  t.match(csrf, /; SameSite=Strict/)

  const response = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { host: OWN_HOST, cookie: csrf.split(';')[0], ...FORM },
    payload: form({ _csrf: csrfToken(signInPage.body), apiKey: key, next: '/dashboard/overview' }),
  })
  t.equal(response.statusCode, 303)
  t.equal(response.headers.location, '/dashboard/overview')
  const session = setCookies(response).get('smslinks_session')!
  t.match(session, /; Path=\/dashboard/)
  t.match(session, /; HttpOnly/)
  t.match(session, /; SameSite=Strict/)
  t.match(session, /; Expires=/, 'the session expires')
  t.notMatch(session, /; Secure/, 'plain http: not Secure (the browser would drop it)')
  t.notOk(session.includes(key), 'the key is not in the cookie')
  t.notOk(response.headers.location!.includes(key), 'nor in the URL')

  const overview = await app.inject({
    url: '/dashboard/overview',
    headers: { host: OWN_HOST, cookie: `${csrf.split(';')[0]}; ${session.split(';')[0]}` },
  })
  t.equal(overview.statusCode, 200)
  t.match(overview.body, /<h1>\s*Overview/)
  t.notOk(overview.body.includes(key), 'the key is not on the page')
})

t.test('a next address outside the dashboard is ignored (no open redirect)', async (t) => {
  const { app, key } = await startWithTenant(t)
  for (const next of ['https://evil.example/', '//evil.example/dashboard', '/v1/messages', '/dashboard/../v1']) {
    const signInPage = await app.inject({ url: '/dashboard/sign-in', headers: { host: OWN_HOST } })
    t.notMatch(signInPage.body, /name="next"/)
    const csrf = setCookies(signInPage).get('smslinks_csrf')!.split(';')[0]
    const response = await app.inject({
      method: 'POST',
      url: '/dashboard/sign-in',
      headers: { host: OWN_HOST, cookie: csrf, ...FORM },
      payload: form({ _csrf: csrfToken(signInPage.body), apiKey: key, next }),
    })
    t.equal(response.headers.location, '/dashboard', next)
  }
})

t.test('behind an HTTPS proxy (TRUST_PROXY) the cookies are Secure', async (t) => {
  const { app, key } = await startWithTenant(t, { env: { TRUST_PROXY: 'true' } })
  const headers = { host: OWN_HOST, 'x-forwarded-proto': 'https' }
  const signInPage = await app.inject({ url: '/dashboard/sign-in', headers })
  const csrf = setCookies(signInPage).get('smslinks_csrf')!
  t.match(csrf, /; Secure/)
  const response = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { ...headers, cookie: csrf.split(';')[0], ...FORM },
    payload: form({ _csrf: csrfToken(signInPage.body), apiKey: key }),
  })
  t.match(setCookies(response).get('smslinks_session')!, /; Secure/)
})

t.test('a wrong key, a missing key or a missing CSRF token signs nobody in', async (t) => {
  const logs = captureLogs()
  const { app, key } = await startWithTenant(t, { logger: logs.logger })
  const signInPage = await app.inject({ url: '/dashboard/sign-in', headers: { host: OWN_HOST } })
  const csrf = setCookies(signInPage).get('smslinks_csrf')!.split(';')[0]!
  const post = (fields: Record<string, string>, cookie = csrf) =>
    app.inject({
      method: 'POST',
      url: '/dashboard/sign-in',
      headers: { host: OWN_HOST, cookie, ...FORM },
      payload: form(fields),
    })
  const token = csrfToken(signInPage.body)
  const wrongKey = 'sl_notAKeyOfAnyTenant0123456789abcdefghijk'

  const wrong = await post({ _csrf: token, apiKey: wrongKey })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.body, /not valid or has been revoked/)
  t.notOk(wrong.body.includes(wrongKey), 'the key typed is not shown back')
  t.notOk(setCookies(wrong).has('smslinks_session'))

  const empty = await post({ _csrf: token, apiKey: '' })
  t.equal(empty.statusCode, 401)
  t.match(empty.body, /Enter an API key/)

  const noToken = await post({ apiKey: key })
  t.equal(noToken.statusCode, 403, 'no token: refused')
  t.match(noToken.headers['content-type'], /text\/html/)
  t.notOk(setCookies(noToken).has('smslinks_session'))
  const noSecret = await post({ _csrf: token, apiKey: key }, '')
  t.equal(noSecret.statusCode, 403, 'no CSRF cookie (a form posted from another site): refused')
  t.notOk(setCookies(noSecret).has('smslinks_session'))

  t.notOk(JSON.stringify(logs.lines).includes(key), 'the key is in no log line')
  t.notOk(JSON.stringify(logs.lines).includes(wrongKey))
})

t.test('sign-in attempts are limited per address (DASHBOARD_SIGN_IN_PER_MINUTE)', async (t) => {
  const { app, key } = await startWithTenant(t, { env: { DASHBOARD_SIGN_IN_PER_MINUTE: '3' } })
  const signInPage = await app.inject({ url: '/dashboard/sign-in', headers: { host: OWN_HOST } })
  const csrf = setCookies(signInPage).get('smslinks_csrf')!.split(';')[0]!
  const attempt = (apiKey: string, remoteAddress = '198.51.100.7') =>
    app.inject({
      method: 'POST',
      url: '/dashboard/sign-in',
      remoteAddress,
      headers: { host: OWN_HOST, cookie: csrf, ...FORM },
      payload: form({ _csrf: csrfToken(signInPage.body), apiKey }),
    })
  for (let i = 0; i < 3; i++) t.equal((await attempt(`sl_guess${i}`)).statusCode, 401)
  const limited = await attempt(key)
  t.equal(limited.statusCode, 429, 'even the right key, once over the limit')
  t.match(limited.body, /Too many sign-in attempts/)
  t.notOk(setCookies(limited).has('smslinks_session'))
  t.equal((await attempt(key, '198.51.100.8')).statusCode, 303, 'another address is not limited')
})

t.test('sign-out ends the session: the same cookie no longer works', async (t) => {
  const { app, key } = await startWithTenant(t)
  const cookie = await signIn(app, key)
  const list = await app.inject({ url: '/dashboard', headers: { host: OWN_HOST, cookie } })
  t.equal(list.statusCode, 200)

  const forged = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-out',
    headers: { host: OWN_HOST, cookie, ...FORM },
    payload: form({ _csrf: 'not-the-token' }),
  })
  t.equal(forged.statusCode, 403, 'sign-out needs the CSRF token too')
  t.equal((await app.inject({ url: '/dashboard', headers: { host: OWN_HOST, cookie } })).statusCode, 200)

  const out = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-out',
    headers: { host: OWN_HOST, cookie, ...FORM },
    payload: form({ _csrf: csrfToken(list.body) }),
  })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/dashboard/sign-in')
  t.match(setCookies(out).get('smslinks_session')!, /^smslinks_session=;.*Expires=Thu, 01 Jan 1970/)
  const replayed = await app.inject({ url: '/dashboard', headers: { host: OWN_HOST, cookie } })
  t.equal(replayed.statusCode, 303, 'a copy of the old cookie is refused')
  t.equal(replayed.headers.location, '/dashboard/sign-in')
})

t.test('a session ends when it expires, when its key is revoked, or when its cookie is altered', async (t) => {
  const clock = testClock()
  const { app, key, tenantId } = await startWithTenant(t, { clock, env: { DASHBOARD_SESSION_HOURS: '2' } })
  const open = (cookie: string) => app.inject({ url: '/dashboard', headers: { host: OWN_HOST, cookie } })

  const cookie = await signIn(app, key)
  clock.advance(2 * 3_600_000 - 1)
  t.equal((await open(cookie)).statusCode, 200, 'still open just before it expires')
  clock.advance(1)
  t.equal((await open(cookie)).statusCode, 303, 'expired')

  const fresh = await signIn(app, key)
  const altered = fresh.replace(/(smslinks_session=[^.]+)\.(\d+)/, (_all, id: string) => `${id}.999`)
  t.not(altered, fresh, 'sanity: the tenant id in the cookie was changed')
  t.equal((await open(altered)).statusCode, 303, 'a cookie with another tenant id and the old signature is refused')

  const keys = json(
    await app.inject({
      url: `/v1/tenants/${tenantId}/api-keys`,
      method: 'POST',
      headers: admin,
      payload: { name: 'b' },
    }),
  )
  const second = await signIn(app, keys.key)
  t.equal((await open(second)).statusCode, 200)
  await app.inject({ method: 'DELETE', url: `/v1/tenants/${tenantId}/api-keys/${keys.id}`, headers: admin })
  t.equal((await open(second)).statusCode, 303, 'revoking the key ends the sessions it opened')
  t.equal((await open(fresh)).statusCode, 200, "the tenant's other key's session goes on")
})

t.test("the dashboard never answers on a tenant's short-link domain, and sets no cookie there", async (t) => {
  const { app, key, host } = await startWithTenant(t)
  const cookie = await signIn(app, key)
  const other = await createTenant(app, 's.other.dk', 'Other')
  for (const url of ['/dashboard', '/dashboard/sign-in', '/dashboard/overview', '/dashboard/assets/dashboard.js']) {
    for (const onHost of [host, other.host]) {
      const response = await app.inject({ url, headers: { host: onHost, cookie } })
      t.equal(response.statusCode, 404, `${url} on ${onHost}`)
      t.match(response.body, /This link does not work/, 'the short-link 404 page')
      t.notOk(response.headers['set-cookie'], 'no cookie')
    }
  }
  const post = await app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { host, ...FORM },
    payload: form({ apiKey: key }),
  })
  t.equal(post.statusCode, 404)
  t.notOk(post.headers['set-cookie'])
})

t.test('the pages have their own Content-Security-Policy, without inline scripts', async (t) => {
  const { app, key } = await startWithTenant(t)
  const cookie = await signIn(app, key)
  const response = await app.inject({ url: '/dashboard', headers: { host: OWN_HOST, cookie } })
  const csp = response.headers['content-security-policy'] as string
  t.match(csp, /script-src 'self'/)
  t.notMatch(csp, /unsafe-inline|unsafe-eval/)
  t.match(csp, /frame-ancestors 'none'/)
  t.equal(response.headers['x-frame-options'], 'DENY')
  t.match(response.headers['cache-control'], /no-store/)
  t.notMatch(response.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'every script is a file')
  t.notMatch(response.body, /\sstyle="/, 'no inline style attribute')
  t.notMatch(response.body, /\son\w+="/, 'no inline event handler')
})
