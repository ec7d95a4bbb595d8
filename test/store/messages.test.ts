import t from 'tap'
import { forEachBackend, openSameDatabase } from '../fixtures/store-backends.js'
import { CodeTaken } from '../../src/db/store.js'

forEachBackend(t, (t, seed) => {
  const { store } = seed

  t.test('a message keeps what it was created with, links in order', async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {
      externalId: seed.unique('ext-'),
      kind: 'flow',
      campaign: 'spring',
      variant: 'B',
      createdAt: 12_345,
      unsubscribeCode: seed.unique('u'),
      expiresAt: 99_999,
      text: {
        body: 'Sale https://shop.dk/a {unsubscribe}',
        spans: [
          { start: 5, end: 24, link: 0 },
          { start: 25, end: 38, link: -1 },
        ],
      },
      stripScheme: true,
      utm: { source: 'sms', campaign: 'spring' },
      clickIdParam: 'sl_cid',
      language: 'zh-Hans',
    })
    t.match(message, {
      language: 'zh-Hans',
      tenantId: owner.tenant.id,
      domainId: owner.domain.id,
      kind: 'flow',
      campaign: 'spring',
      variant: 'B',
      recipientCount: 0,
      createdAt: 12_345,
      expiresAt: 99_999,
      stripScheme: true,
      utm: { source: 'sms', campaign: 'spring' },
      clickIdParam: 'sl_cid',
      text: {
        body: 'Sale https://shop.dk/a {unsubscribe}',
        spans: [
          { start: 5, end: 24, link: 0 },
          { start: 25, end: 38, link: -1 },
        ],
      },
    })
    t.same(
      message.links.map((link) => [link.position, link.url]),
      [
        [0, 'https://shop.dk/a'],
        [1, 'https://shop.dk/b'],
      ],
    )
    t.same(await store.getMessage(owner.tenant.id, message.publicId), message)
    t.same(await store.findMessageByExternalId(owner.tenant.id, message.externalId!), message)
    t.same(await store.messageOwner(message.id), { tenantId: owner.tenant.id, publicId: message.publicId })
    t.equal(await store.messageOwner(message.id + 1_000_000), null)
  })

  t.test('a plain message has no text, utm, expiry or unsubscribe code', async (t) => {
    const message = await seed.message(await seed.tenant())
    t.match(message, {
      text: null,
      utm: null,
      clickIdParam: null,
      expiresAt: null,
      unsubscribeCode: null,
      stripScheme: false,
      language: null,
    })
  })

  t.test("another tenant's message is not found", async (t) => {
    const owner = await seed.tenant()
    const other = await seed.tenant()
    const message = await seed.message(owner, { externalId: 'shared-ext' })
    t.equal(await store.getMessage(other.tenant.id, message.publicId), null)
    t.equal(await store.findMessageByExternalId(other.tenant.id, 'shared-ext'), null)
  })

  t.test('a repeated externalId returns the first message, created=false', async (t) => {
    const owner = await seed.tenant()
    const first = await seed.message(owner, { externalId: 'order-1' })
    const again = await store.createMessage({
      publicId: seed.unique('msg_'),
      tenantId: owner.tenant.id,
      domainId: owner.domain.id,
      externalId: 'order-1',
      kind: 'transactional',
      campaign: null,
      variant: null,
      createdAt: 20_000,
      links: [{ publicId: seed.unique('lnk_'), code: seed.unique('c'), url: 'https://other.dk' }],
      unsubscribeCode: null,
      expiresAt: null,
      text: null,
      stripScheme: false,
      utm: null,
      clickIdParam: null,
      language: null,
    })
    t.equal(again.created, false)
    t.same(again.message, first)
  })

  t.test('a code taken on the domain is refused with CodeTaken, and nothing is stored', async (t) => {
    const owner = await seed.tenant()
    const other = await seed.tenant()
    const first = await seed.message(owner)
    const taken = first.links[0]!.code
    const input = (domain: typeof owner, codes: string[]) =>
      seed.newMessage(domain, {
        links: codes.map((code, i) => ({ publicId: seed.unique('lnk_'), code, url: `https://shop.dk/${i}` })),
      })
    const refused = input(owner, [seed.unique('c'), taken])
    await t.rejects(store.createMessage(refused, ['alice']), CodeTaken)
    t.equal(await store.getMessage(owner.tenant.id, refused.publicId), null, 'no message')
    t.equal(await store.findLinkTarget(owner.domain.id, refused.links[0]!.code), null, 'no link')
    t.equal(
      (await store.findLinkTarget(owner.domain.id, taken))!.messageId,
      first.id,
      'the code is still the first link',
    )

    const same = seed.unique('c')
    await t.rejects(store.createMessage(input(owner, [same, same])), CodeTaken, 'two links of one message')
    const elsewhere = await store.createMessage(input(other, [taken]))
    t.equal(elsewhere.created, true, 'another domain may use the code')
  })

  t.test('codes are looked up within their domain', async (t) => {
    const owner = await seed.tenant()
    const other = await seed.tenant()
    const message = await seed.message(owner, { utm: { medium: 'sms' }, clickIdParam: 'cid', expiresAt: 50_000 })
    const code = message.links[1]!.code
    t.same(await store.findLinkTarget(owner.domain.id, code), {
      linkId: message.links[1]!.id,
      messageId: message.id,
      url: 'https://shop.dk/b',
      utm: { medium: 'sms' },
      clickIdParam: 'cid',
      expiresAt: 50_000,
    })
    t.equal(await store.findLinkTarget(other.domain.id, code), null)
  })

  t.test('recipients get indexes in order; a known id keeps its index', async (t) => {
    const message = await seed.message(await seed.tenant())
    const first = await store.addRecipients(message.id, ['a', 'b', 'a'])
    t.same(first, {
      recipients: [
        { externalId: 'a', index: 0 },
        { externalId: 'b', index: 1 },
        { externalId: 'a', index: 0 },
      ],
      recipientCount: 2,
    })
    const second = await store.addRecipients(message.id, ['c', 'b'])
    t.same(second, {
      recipients: [
        { externalId: 'c', index: 2 },
        { externalId: 'b', index: 1 },
      ],
      recipientCount: 3,
    })
    t.same(await store.addRecipients(message.id, []), { recipients: [], recipientCount: 3 })
    t.equal(await store.recipientIndexOf(message.id, 'c'), 2)
    t.equal(await store.recipientIndexOf(message.id, 'z'), null)
    t.equal((await store.getMessage(message.tenantId, message.publicId))?.recipientCount, 3)
  })

  t.test('new ids take the next indexes; a stored id among new ones leaves no gap', async (t) => {
    const message = await seed.message(await seed.tenant())
    await store.addRecipients(message.id, ['a', 'b'])
    t.same(await store.addRecipients(message.id, ['c', 'd']), {
      recipients: [
        { externalId: 'c', index: 2 },
        { externalId: 'd', index: 3 },
      ],
      recipientCount: 4,
    })
    t.same(await store.addRecipients(message.id, ['e', 'a', 'f', 'e']), {
      recipients: [
        { externalId: 'e', index: 4 },
        { externalId: 'a', index: 0 },
        { externalId: 'f', index: 5 },
        { externalId: 'e', index: 4 },
      ],
      recipientCount: 6,
    })
    t.equal(await store.recipientIndexOf(message.id, 'f'), 5)
    t.equal((await store.getMessage(message.tenantId, message.publicId))?.recipientCount, 6)
  })

  t.test('a message is created with its first recipients; a repeated externalId adds none', async (t) => {
    const owner = await seed.tenant()
    const externalId = seed.unique('ext-')
    const made = await store.createMessage(seed.newMessage(owner, { externalId }), ['a', 'b', 'a'])
    t.equal(made.created, true)
    t.same(made.recipients, [
      { externalId: 'a', index: 0 },
      { externalId: 'b', index: 1 },
      { externalId: 'a', index: 0 },
    ])
    t.equal(made.message.recipientCount, 2)
    t.same(await store.getMessage(owner.tenant.id, made.message.publicId), made.message)
    t.same((await store.addRecipients(made.message.id, ['c', 'b'])).recipients, [
      { externalId: 'c', index: 2 },
      { externalId: 'b', index: 1 },
    ])

    const again = await store.createMessage(seed.newMessage(owner, { externalId }), ['z'])
    t.same({ created: again.created, recipients: again.recipients }, { created: false, recipients: [] })
    t.equal(again.message.recipientCount, 3)
    t.equal(await store.recipientIndexOf(made.message.id, 'z'), null, 'z was not added')
    const none = await store.createMessage(seed.newMessage(owner), [])
    t.same(
      { recipients: none.recipients, recipientCount: none.message.recipientCount },
      { recipients: [], recipientCount: 0 },
    )
  })

  t.test('messages created at the same time are each stored; one that fails fails alone', async (t) => {
    const owner = await seed.tenant()
    const taken = await seed.message(owner)
    const externalId = seed.unique('ext-')
    const withCode = (code: string) => [{ publicId: seed.unique('lnk_'), code, url: 'https://shop.dk/x' }]
    const calls = [
      seed.newMessage(owner),
      seed.newMessage(owner, { externalId }),
      // A code the domain already has: the insert breaks the links' unique key.
      seed.newMessage(owner, { externalId: seed.unique('clash-'), links: withCode(taken.links[0]!.code) }),
      seed.newMessage(owner, { externalId }),
      seed.newMessage(owner),
    ]
    const other = await openSameDatabase(t, store)
    const outcomes = await Promise.allSettled(
      calls.map(async (input, i) => {
        const made = await store.createMessage(input, [`r${i}`])
        // Answered only once committed: another connection already sees it.
        t.ok(await other.getMessage(owner.tenant.id, made.message.publicId), `call ${i} is committed when answered`)
        return made
      }),
    )
    t.equal(outcomes[2]!.status, 'rejected', 'the call with a taken code fails')
    t.equal(await store.findMessageByExternalId(owner.tenant.id, calls[2]!.externalId!), null, 'and stores nothing')
    const made = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : null))
    // Of the two calls with one externalId, either may come first (on PostgreSQL they race).
    const [first, second] = made[1]!.created ? [1, 3] : [3, 1]
    for (const i of [0, first, 4]) {
      t.equal(made[i]!.created, true)
      t.same(made[i]!.recipients, [{ externalId: `r${i}`, index: 0 }])
      t.same(await store.getMessage(owner.tenant.id, made[i]!.message.publicId), made[i]!.message)
    }
    t.same(
      { created: made[second]!.created, id: made[second]!.message.id, recipients: made[second]!.recipients },
      { created: false, id: made[first]!.message.id, recipients: [] },
      'the later call with the same externalId gets the first one',
    )
    t.equal(await store.recipientIndexOf(made[first]!.message.id, `r${second}`), null)
  })

  t.test('a thousand recipients in one call, then more from two callers at once', async (t) => {
    const message = await seed.message(await seed.tenant())
    const ids = Array.from({ length: 1000 }, (_, i) => `r${i}`)
    const added = await store.addRecipients(message.id, ids)
    t.equal(added.recipientCount, 1000)
    t.same(
      added.recipients.map((r) => r.index),
      ids.map((_, i) => i),
    )
    const [x, y] = await Promise.all([
      store.addRecipients(message.id, ['x1', 'x2', 'r5']),
      store.addRecipients(message.id, ['y1', 'x1']),
    ])
    const indexes = new Set([...x.recipients, ...y.recipients].filter((r) => r.externalId !== 'r5').map((r) => r.index))
    t.same([...indexes].sort(), [1000, 1001, 1002], 'three new ids, three new indexes, none handed out twice')
    t.equal(x.recipients[2]!.index, 5)
    t.equal(x.recipients[0]!.index, y.recipients[1]!.index, 'x1 has one index for both callers')
    t.equal(Math.max(x.recipientCount, y.recipientCount), 1003)
  })

  t.test('messages are listed newest first, a page at a time', async (t) => {
    const owner = await seed.tenant()
    const made = []
    for (let i = 0; i < 5; i++) made.push(await seed.message(owner))
    const first = await store.listMessages(owner.tenant.id, null, 2)
    t.same(
      first.messages.map((m) => m.publicId),
      [made[4]!.publicId, made[3]!.publicId],
    )
    t.same(first.messages[0]!.links, made[4]!.links)
    const second = await store.listMessages(owner.tenant.id, first.nextBefore, 2)
    t.same(
      second.messages.map((m) => m.publicId),
      [made[2]!.publicId, made[1]!.publicId],
    )
    const last = await store.listMessages(owner.tenant.id, second.nextBefore, 2)
    t.same(
      last.messages.map((m) => m.publicId),
      [made[0]!.publicId],
    )
    t.equal(last.nextBefore, null)
  })

  t.test('a filter keeps the messages matching every field it sets', async (t) => {
    const owner = await seed.tenant()
    const a = await seed.message(owner, { campaign: 'spring', kind: 'campaign', createdAt: 1_000 })
    const b = await seed.message(owner, { campaign: 'spring', kind: 'flow', createdAt: 2_000 })
    const c = await seed.message(owner, { campaign: 'autumn', kind: 'campaign', createdAt: 3_000 })
    const listed = async (filter: Parameters<typeof store.listMessages>[3], limit = 10) =>
      (await store.listMessages(owner.tenant.id, null, limit, filter)).messages.map((m) => m.publicId)
    t.same(await listed({}), [c.publicId, b.publicId, a.publicId])
    t.same(await listed({ campaign: 'spring' }), [b.publicId, a.publicId])
    t.same(await listed({ campaign: 'spring', kind: 'campaign' }), [a.publicId])
    t.same(await listed({ from: 2_000 }), [c.publicId, b.publicId], 'from is inclusive')
    t.same(await listed({ to: 2_000 }), [a.publicId], 'to is exclusive')
    t.same(await listed({ campaign: 'none' }), [])
    const page = await store.listMessages(owner.tenant.id, null, 1, { campaign: 'spring' })
    t.same(
      page.messages.map((m) => m.publicId),
      [b.publicId],
    )
    const next = await store.listMessages(owner.tenant.id, page.nextBefore, 1, { campaign: 'spring' })
    t.same(
      next.messages.map((m) => m.publicId),
      [a.publicId],
    )
    t.equal(next.nextBefore, null)
  })

  t.test("recipients' ids and links' summaries by internal id; unknown ones left out", async (t) => {
    const owner = await seed.tenant()
    const message = await seed.message(owner, {}, ['alice', 'bob', 'carol'])
    const other = await seed.message(owner, {}, ['dave'])
    t.same([...(await store.recipientIdsAt(message.id, [2, 0, 7]))].sort(), [
      [0, 'alice'],
      [2, 'carol'],
    ])
    t.same([...(await store.recipientIdsAt(other.id, [0, 1]))], [[0, 'dave']])
    t.same([...(await store.recipientIdsAt(message.id, []))], [])
    const [l0, l1] = message.links
    const summaries = await store.linkSummaries([l1!.id, l0!.id, 987_654_321])
    t.equal(summaries.size, 2)
    t.same(summaries.get(l0!.id), { publicId: l0!.publicId, url: 'https://shop.dk/a' })
    t.same(summaries.get(l1!.id), { publicId: l1!.publicId, url: 'https://shop.dk/b' })
  })

  t.test('an unsubscribe code is looked up within its domain', async (t) => {
    const owner = await seed.tenant()
    const code = seed.unique('u')
    const message = await seed.message(owner, { unsubscribeCode: code, language: 'sv' }, ['a', 'b'])
    t.equal(await store.unsubscribeCodeExists(owner.domain.id, code), true)
    t.equal(await store.unsubscribeCodeExists(owner.domain.id, 'nope'), false)
    t.same(await store.findUnsubscribeTarget(owner.domain.id, code), {
      messageId: message.id,
      messagePublicId: message.publicId,
      tenantId: owner.tenant.id,
      tenantName: 'Shop',
      recipientCount: 2,
      messageLanguage: 'sv',
      tenantLanguage: null,
    })
    await store.setTenantLanguage(owner.tenant.id, 'da')
    t.match(await store.findUnsubscribeTarget(owner.domain.id, code), { messageLanguage: 'sv', tenantLanguage: 'da' })
    t.equal(await store.findUnsubscribeTarget((await seed.tenant()).domain.id, code), null)
  })
})
