// Administrative divisions by their code (GB/T 2260) as the platform's trades and
// supervisors name them: the Xinjiang Uygur Autonomous Region, its prefectures and the
// cities of the Production and Construction Corps. A code not listed shows as itself.
const NAMES = {
  '650000': '新疆维吾尔自治区',
  '650100': '乌鲁木齐市',
  '650200': '克拉玛依市',
  '650400': '吐鲁番市',
  '650500': '哈密市',
  '652300': '昌吉回族自治州',
  '652700': '博尔塔拉蒙古自治州',
  '652800': '巴音郭楞蒙古自治州',
  '652900': '阿克苏地区',
  '653000': '克孜勒苏柯尔克孜自治州',
  '653100': '喀什地区',
  '653200': '和田地区',
  '654000': '伊犁哈萨克自治州',
  '654200': '塔城地区',
  '654300': '阿勒泰地区',
  '659001': '石河子市',
  '659002': '阿拉尔市',
  '659003': '图木舒克市',
  '659004': '五家渠市',
  '659005': '北屯市',
  '659006': '铁门关市',
  '659007': '双河市',
  '659008': '可克达拉市',
  '659009': '昆玉市',
  '659010': '胡杨河市',
  '659011': '新星市',
  '659012': '白杨市',
};

/** The region's name, or its code when the platform does not know it. */
export const regionName = (code) => NAMES[code] ?? code ?? '—';

/** "乌鲁木齐市 (650100)": the name with the code people search by. */
export const regionLabel = (code) => (NAMES[code] ? `${NAMES[code]}（${code}）` : code ?? '—');
