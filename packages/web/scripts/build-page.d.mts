/** Types of build-page.mjs (the page's Vite build, run from plain Node at install time). */
export declare const webRoot: string;
export declare const pageDirectory: string;
export declare function isPageStale(): boolean;
export declare function buildPage(): Promise<{ ms: number }>;
export declare function buildPageIfStale(): Promise<{ ms: number } | undefined>;
