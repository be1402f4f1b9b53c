// Help (办事指南): what each role does on the platform and in what order, how to obtain
// and use a certificate, questions people ask, and where to turn with a complaint. The
// words are here in both languages; the rulebook has a page of its own (#/rules).
import { html } from '../html.js';
import { t, lang } from '../i18n.js';

/** Each topic: its title and its steps or paragraphs, Chinese then English. */
const TOPICS = {
  bidder: {
    title: ['投标人、竞买人办事指南', 'Guide for bidders'],
    steps: [
      ['向平台认可的 CA 申领数字证书（见“数字证书”），用证书和私钥文件在“登录”页注册单位，填写统一社会信用代码；交易中心审核后即可使用。', 'Obtain a certificate from a CA the platform recognises (see "Certificates"), then register your organisation on the sign-in page with the certificate, its key file and your unified social credit code. The trading centre approves it.'],
      ['在“交易公告”中按类别、行政区划查找项目，阅读招标（出让）公告和交易文件；登录后下载文件，平台记录您下载的版本，文件变更时在项目页提示。', 'Find trades under "Announcements" by kind and region; read the announcement and its documents. Download them signed in: the platform records which version you have and tells you on the trade page when one changes.'],
      ['有疑问的，在投标截止前于项目页提出澄清问题；答复公开发布。', 'Ask questions on the trade page before the deadline; the answers are published.'],
      ['招标项目：在“递交投标”页填写报价、选择投标文件，投标文件在您的浏览器内签名并加密，截止前可替换或撤回；保存回执。', 'Tenders: on the bid page enter your price and choose your files; the bid is signed and encrypted in your browser. Replace or withdraw it before the deadline, and keep the receipt.'],
      ['出让、转让项目：报名并按公告缴纳竞买保证金，审核通过且保证金到账后取得竞买号，在竞价室报价。', 'Sales: apply and pay the deposit as the announcement says; once qualified and paid you get a bidder number and quote in the auction room.'],
      ['开标在开标大厅公开进行，结果在项目的“开标记录”“中标候选人公示”等公告中发布；对结果有异议的，在公示期内于项目页提出。', 'The opening is public in the opening hall; results are published as the trade\u2019s notices. Object during the publicity period on the trade page.'],
    ],
  },
  centre: {
    title: ['交易中心办事指南', 'Guide for trading centres'],
    steps: [
      ['在“交易管理”中新建交易：选择交易类别和方式，填写项目概况、资格要求、联系方式、标段、金额和时间；平台按交易规则即时检查，并指出条款依据。', 'Create a trade under "Trades": kind, procedure, overview, qualifications, contact, lots, amounts and times; the platform checks it against the rulebook as you type and names the article.'],
      ['上传交易文件并发布；发布后文件只能通过变更公告修改，变更晚于澄清截止时间的，投标截止时间按规则顺延。', 'Upload the documents and publish; afterwards they change only by a change notice, which moves the deadline when it comes late.'],
      ['答复澄清问题；出让项目审核竞买申请、在开始前密封底价。', 'Answer questions; for sales, review applications and seal the reserve before the start.'],
      ['开标后抽取评标专家，评标结束后公示中标候选人，答复异议，公示期满后确定中标人并登记合同。', 'After the opening, draw the experts; after the evaluation, publish the candidates, answer objections, then award and record the contract.'],
    ],
  },
  expert: {
    title: ['评标专家办事指南', 'Guide for evaluation experts'],
    steps: [
      ['在“评标任务”中查看被抽中的项目；有利害关系的，应当回避。', 'See the trades you were drawn for under "Evaluation"; withdraw where you have a conflict of interest.'],
      ['按评标办法逐一评审有效投标，填写评分表并用您的证书签名提交。', 'Score each valid bid by the method in the documents and sign your score sheet with your certificate.'],
      ['全部评分表提交后，核对评标报告并签名；有不同意见的，写明理由。', 'When every sheet is in, check the report and sign it, with your dissent if you have one.'],
    ],
  },
  custodian: {
    title: ['开标人（密钥保管人）办事指南', 'Guide for opening custodians'],
    steps: [
      ['项目发布前，在项目的开标页为本项目登记您的开标公钥。', 'Before the trade is published, register your opening key for it on its custodian page.'],
      ['开标时间到后，在开标时间窗口内用您的私钥解开份额并提交；达到规定人数即开标，任何一人都不能单独开标。', 'When the opening comes, open your shares with your key within the window and contribute; the bids open once enough custodians have, never with one alone.'],
    ],
  },
  supervisor: {
    title: ['监督人员办事指南', 'Guide for supervisors'],
    steps: [
      ['“监管”页实时显示本辖区交易的全部动态和风险预警，预警按严重程度排列。', 'The supervision page shows every event of your region\u2019s trades live, and the risk alerts by severity.'],
      ['处理预警：指派、处理、关闭，每一步都须填写说明。', 'Work an alert: assign, handle, close, each step with a note.'],
      ['发现违法违规的，可暂停、恢复或终止交易，须写明理由并确认。', 'Suspend, resume or terminate a trade where the law requires, with a reason and a confirmation.'],
    ],
  },
  certificates: {
    title: ['数字证书', 'Certificates'],
    steps: [
      ['平台只接受平台认可的 CA 签发的数字证书（目前为 ECDSA P-256/P-384、RSA 2048 位以上或 Ed25519 证书），证书用途须允许数字签名。向您所在地的 CA 机构或交易中心服务窗口申领，通常存放在 USB Key 中。', 'The platform accepts certificates from the CAs it recognises (today ECDSA P-256/P-384, RSA of 2048 bits or more, or Ed25519), whose key usage allows digital signatures. Obtain one from your local CA or the trading centre\u2019s service desk; it usually comes on a USB key.'],
      ['登录时选择证书文件（PEM 格式）和私钥文件；私钥只在您的浏览器内使用，不会上传。', 'Sign in with the certificate file (PEM) and its key file; the key is used in your browser only and never sent.'],
      ['证书过期、被吊销或 CA 的吊销列表暂时不可用的，平台拒绝登录并说明原因；请及时更新证书。', 'An expired or revoked certificate, or one whose CA\u2019s revocation list is unavailable, is refused with the reason; renew it in time.'],
    ],
  },
  faq: {
    title: ['常见问题', 'Questions'],
    steps: [
      ['投标截止前网络中断了怎么办？——投标在截止时间前送达平台即有效，以平台服务器时间为准（页面顶部显示）；请提前递交，截止前可以替换。', 'What if the network fails before the deadline? A bid counts when it reaches the platform before the deadline by the server\u2019s clock (shown at the top); submit early, you can replace it.'],
      ['别人能在开标前看到我的报价吗？——不能。投标在您的浏览器内加密，只有开标委员会达到规定人数共同操作才能解密，平台工作人员也无法提前查看。', 'Can anyone see my price before the opening? No. The bid is encrypted in your browser and opens only when enough of the committee act together; platform staff cannot look earlier.'],
      ['怎样确认我的投标没有被改动？——保存投标回执，在“透明日志”页核对；任何人都可以验证日志。', 'How do I know my bid was not altered? Keep the receipt and check it on the transparency log page; anyone can verify the log.'],
      ['文件变更了怎么知道？——登录后在项目页查看，平台提示您下载后发布的变更公告。', 'How do I learn that a document changed? Signed in, the trade page tells you of the change notices issued since your download.'],
    ],
  },
  contact: {
    title: ['联系与投诉', 'Contact and complaints'],
    steps: [
      ['交易中的问题请联系项目公告中列明的联系人，或交易中心服务窗口。', 'For a trade, contact the person its announcement names, or the trading centre\u2019s service desk.'],
      ['对招标投标活动有异议的，先向招标人提出异议；对异议答复不满意的，可在规定期限内向行政监督部门投诉（中华人民共和国招标投标法实施条例 第六十条）。平台上的异议和投诉在项目页提出，全程留痕。', 'Object to the principal first; if the answer does not satisfy you, complain to the supervising authority within the statutory period. Objections and complaints are filed on the trade page and logged.'],
      ['发现平台安全问题的，请联系平台运营方。', 'Report a security problem to the platform\u2019s operator.'],
    ],
  },
};

const TOPIC_ORDER = ['bidder', 'centre', 'expert', 'custodian', 'supervisor', 'certificates', 'faq', 'contact'];

const pick = (pair) => pair[lang() === 'zh-CN' ? 0 : 1];

export function HelpPage({ topic }) {
  const shown = TOPICS[topic] ? topic : null;
  return html`<section class="help" data-testid="help">
    <h1>${t('help.title')}</h1>
    <nav aria-label=${t('help.topics')}><ul class="notice-list">
      ${TOPIC_ORDER.map((k) => html`<li key=${k}>${k === shown ? html`<strong aria-current="page">${pick(TOPICS[k].title)}</strong>` : html`<a href=${`#/help/${k}`}>${pick(TOPICS[k].title)}</a>`}</li>`)}
      <li><a href="#/rules">${t('help.rules')}</a></li>
    </ul></nav>
    ${shown
      ? html`<article data-testid="help-topic"><h2>${pick(TOPICS[shown].title)}</h2>
          <ol class="steps">${TOPICS[shown].steps.map((s, i) => html`<li key=${i}>${pick(s)}</li>`)}</ol></article>`
      : null}
  </section>`;
}

export { TOPIC_ORDER };
