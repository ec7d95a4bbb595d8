import type { PageTexts } from './types.js'

/** Simplified Chinese. */
export const zhHans: PageTexts = {
  notFound: {
    title: '链接不存在',
    heading: '此链接无法打开',
    text: '链接可能输入有误或已停用，请核对您收到的短信。',
  },
  expired: {
    title: '链接已过期',
    heading: '此链接已过期',
    text: '该链接指向的优惠或页面已不再提供。',
  },
  unavailable: {
    title: '请稍后再试',
    heading: '此链接暂时无法打开',
    text: '请过几秒钟再试一次。',
  },
  invalidLink: {
    title: '链接无效',
    heading: '此链接无效',
    text: '链接可能输入有误或不完整，请核对您收到的短信。',
  },
  confirm: {
    title: (name) => `退订${name}的短信`,
    heading: (name) => `不再接收${name}的短信？`,
    text: (name) => `点击下方按钮，即可不再接收${name}的营销短信。`,
    button: '退订',
  },
  unsubscribed: {
    title: '退订成功',
    heading: '您已成功退订',
    text: (name) => `${name}将不再向您发送营销短信。您可以关闭此页面。`,
  },
}
